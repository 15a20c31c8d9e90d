// PURE. What this node should make true for each dataset in the configuration.
import type { Deployment, Lease } from '../model/configuration.js';
import { DEFAULT_MAXIMUM_SIZE } from '../model/configuration.js';
import type { DatasetId, NodeId } from '../model/ids.js';
import type { DesiredDataset, LocalState } from './dataset-state.js';

export interface DesiredInput {
  readonly nodeId: NodeId;
  readonly configuration: Deployment;
  readonly local: LocalState;
  /** Epoch ms by the control service's clock (leases expire by it). */
  readonly now: number;
  readonly mountRoot: string;
  readonly allocationUnit: number;
  /** p2p: every node's pool is private, so whoever holds a deleted dataset destroys it. */
  readonly peerToPeer?: boolean;
}

export function mountPointFor(mountRoot: string, datasetId: DatasetId): string {
  return `${mountRoot.replace(/\/+$/, '')}/${datasetId}`;
}

/** maximum_size (null = Flocker's 75 GiB) rounded up to the backend's allocation unit. */
export function volumeSize(maximumSize: number | null, allocationUnit: number): number {
  const bytes = maximumSize ?? DEFAULT_MAXIMUM_SIZE;
  const unit = Math.max(1, Math.floor(allocationUnit));
  return Math.ceil(bytes / unit) * unit;
}

export function activeLease(configuration: Deployment, datasetId: DatasetId, now: number): Lease | undefined {
  const lease = configuration.leases.get(datasetId);
  if (!lease) return undefined;
  return lease.expiresAt === null || lease.expiresAt > now ? lease : undefined;
}

/** The ids configured on each node, per configuration object: built once, read by every plan until it changes. */
const byPrimary = new WeakMap<Deployment['datasets'], ReadonlyMap<NodeId, readonly DatasetId[]>>();

function configuredOn(datasets: Deployment['datasets'], node: NodeId): readonly DatasetId[] {
  let index = byPrimary.get(datasets);
  if (!index) {
    const built = new Map<NodeId, DatasetId[]>();
    for (const ds of datasets.values()) {
      const list = built.get(ds.primary);
      if (list) list.push(ds.datasetId);
      else built.set(ds.primary, [ds.datasetId]);
    }
    byPrimary.set(datasets, built);
    index = built;
  }
  return index.get(node) ?? [];
}

/**
 * Every configured dataset this node has a part in: configured here, or found here. Datasets found
 * in the pool but unknown to the configuration are the planner's to treat as non-manifest (let go,
 * never destroy). The rest — other nodes' datasets this node has never seen — would each plan to
 * nothing, and skipping them keeps a plan's cost in proportion to this node's share of a big
 * cluster rather than to the whole of it (walking 100,000 datasets alone takes ~100 ms).
 */
export function desiredFor(input: DesiredInput): Map<DatasetId, DesiredDataset> {
  const out = new Map<DatasetId, DesiredDataset>();
  const ids = new Set<DatasetId>([...configuredOn(input.configuration.datasets, input.nodeId), ...input.local.datasets.keys()]);
  for (const id of ids) {
    const ds = input.configuration.datasets.get(id);
    if (!ds) continue;
    const mountPoint = mountPointFor(input.mountRoot, id);
    const size = volumeSize(ds.maximumSize, input.allocationUnit);
    // A lease pins the dataset where it is mounted: a move or delete waits until it is released.
    const lease = activeLease(input.configuration, id, input.now);
    const heldHere = lease?.nodeId === input.nodeId && input.local.datasets.get(id)?.kind === 'mounted';
    const wantedHere = ds.primary === input.nodeId && !ds.deleted;
    if (wantedHere) {
      out.set(id, { kind: 'mounted', datasetId: id, size, mountPoint });
    } else if (heldHere) {
      out.set(id, { kind: 'mounted', datasetId: id, size, mountPoint, holdingLease: { configuredPrimary: ds.primary, deleted: ds.deleted } });
    } else if (ds.deleted) {
      out.set(id, { kind: 'deleted', datasetId: id, destroyHere: ds.primary === input.nodeId || input.peerToPeer === true });
    } else {
      out.set(id, { kind: 'non-manifest', datasetId: id, primary: ds.primary });
    }
  }
  return out;
}
