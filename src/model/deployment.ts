// Pure transforms of the desired configuration. Clocks and ids come in as arguments.
import type { Dataset, Deployment, Lease } from './configuration.js';
import type { DatasetId, NodeId } from './ids.js';
import { err, ok, type Result } from './errors.js';

export interface NewDataset {
  readonly datasetId: DatasetId;
  readonly primary: NodeId;
  readonly maximumSize: number | null;
  readonly metadata: Readonly<Record<string, string>>;
}

export function createDataset(d: Deployment, spec: NewDataset): Result<{ deployment: Deployment; dataset: Dataset }> {
  // Deleted datasets stay in the configuration, so their ids can never be reused.
  if (d.datasets.has(spec.datasetId)) return err({ kind: 'dataset-exists', datasetId: spec.datasetId });
  const dataset: Dataset = { ...spec, deleted: false };
  return ok({ deployment: { ...d, datasets: d.datasets.set(spec.datasetId, dataset) }, dataset });
}

export function moveDataset(d: Deployment, id: DatasetId, primary: NodeId): Result<{ deployment: Deployment; dataset: Dataset }> {
  const current = d.datasets.get(id);
  if (!current) return err({ kind: 'dataset-not-found', datasetId: id });
  if (current.deleted) return err({ kind: 'dataset-deleted', datasetId: id });
  if (current.primary === primary) return ok({ deployment: d, dataset: current });
  const dataset: Dataset = { ...current, primary };
  return ok({ deployment: { ...d, datasets: d.datasets.set(id, dataset) }, dataset });
}

/**
 * Record that `node` (in `era`) was fenced off the dataset by a forced move: it must let go first
 * when it comes back. The epoch counts forced moves; it is what a pool's fencing token carries.
 */
export function fenceDataset(d: Deployment, id: DatasetId, node: NodeId, era: string): Result<{ deployment: Deployment; dataset: Dataset }> {
  const current = d.datasets.get(id);
  if (!current) return err({ kind: 'dataset-not-found', datasetId: id });
  const dataset: Dataset = { ...current, fence: { node, era, epoch: (current.fence?.epoch ?? 0) + 1 } };
  return ok({ deployment: { ...d, datasets: d.datasets.set(id, dataset) }, dataset });
}

export function deleteDataset(d: Deployment, id: DatasetId): Result<{ deployment: Deployment; dataset: Dataset }> {
  const current = d.datasets.get(id);
  if (!current) return err({ kind: 'dataset-not-found', datasetId: id });
  if (current.deleted) return ok({ deployment: d, dataset: current });
  const dataset: Dataset = { ...current, deleted: true };
  return ok({ deployment: { ...d, datasets: d.datasets.set(id, dataset) }, dataset });
}

export function acquireLease(
  d: Deployment,
  lease: Lease,
): Result<{ deployment: Deployment; lease: Lease; created: boolean }> {
  const current = d.leases.get(lease.datasetId);
  if (current && current.nodeId !== lease.nodeId) {
    return err({ kind: 'lease-held', datasetId: lease.datasetId, holder: current.nodeId });
  }
  if (current && current.expiresAt === lease.expiresAt) return ok({ deployment: d, lease: current, created: false });
  return ok({ deployment: { ...d, leases: d.leases.set(lease.datasetId, lease) }, lease, created: !current });
}

export function releaseLease(d: Deployment, id: DatasetId): Result<{ deployment: Deployment; lease: Lease }> {
  const current = d.leases.get(id);
  if (!current) return err({ kind: 'lease-not-found', datasetId: id });
  return ok({ deployment: { ...d, leases: d.leases.delete(id) }, lease: current });
}
