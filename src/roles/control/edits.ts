// Requests as edits of the configuration: a pure function of the committed configuration that
// says what it answers and exactly which entries it changes, so a commit writes only those and a
// retry after another replica's write can simply run it again on the newer configuration.
import type { Dataset, Deployment, Lease } from '../../model/configuration.js';
import {
  acquireLease, createDataset, deleteDataset, fenceDataset, moveDataset, releaseLease, type NewDataset,
} from '../../model/deployment.js';
import { err, ok, type Result } from '../../model/errors.js';
import type { DatasetId, NodeId } from '../../model/ids.js';
import type { StoreChange } from '../../store/store.js';

export interface Edited<T> {
  readonly value: T;
  /** The configuration after the edit (the same object when nothing changed). */
  readonly deployment: Deployment;
  readonly change: StoreChange;
}

export type Edit<T> = (d: Deployment, nowMs: number) => Result<Edited<T>>;

const NO_DATASETS: ReadonlyMap<string, Dataset> = new Map();
const NO_LEASES: ReadonlyMap<string, Lease | null> = new Map();

function datasetEdited(before: Deployment, r: Result<{ deployment: Deployment; dataset: Dataset }>): Result<Edited<Dataset>> {
  if (!r.ok) return r;
  const { dataset, deployment } = r.value;
  const changed = before.datasets.get(dataset.datasetId) !== dataset;
  return ok({ value: dataset, deployment, change: { datasets: changed ? new Map([[dataset.datasetId, dataset]]) : NO_DATASETS, leases: NO_LEASES } });
}

export const createEdit = (spec: NewDataset): Edit<Dataset> => (d) => datasetEdited(d, createDataset(d, spec));

/** `primary` undefined: a no-op that still answers with the dataset (or its error). */
export const moveEdit = (id: DatasetId, primary: NodeId | undefined): Edit<Dataset> => (d) => {
  const current = d.datasets.get(id);
  return datasetEdited(d, moveDataset(d, id, primary ?? current?.primary ?? ('' as NodeId)));
};

/** Who a move would take the dataset from, if that node is unreachable (its primary or its holder). */
export interface MoveOff {
  readonly unreachableHolder: (d: Dataset, target: NodeId) => NodeId | undefined;
  /** The era to fence: the one the node had when last heard from (ANY_ERA if never). */
  readonly eraOf: (node: NodeId) => string;
  readonly force: boolean;
  readonly timeoutSeconds: number;
}

/** A move off an unreachable node is refused unless forced; forced, it fences that node. */
export const moveOffEdit = (id: DatasetId, primary: NodeId | undefined, o: MoveOff): Edit<Dataset> => (d, now) => {
  const plain = moveEdit(id, primary)(d, now);
  const current = d.datasets.get(id);
  if (!plain.ok || !current || primary === undefined || primary === current.primary) return plain;
  const off = o.unreachableHolder(current, primary);
  if (off === undefined) return plain;
  if (!o.force) return err({ kind: 'node-unreachable', datasetId: id, node: off, timeoutSeconds: o.timeoutSeconds });
  const moved = moveDataset(d, id, primary);
  if (!moved.ok) return moved;
  return datasetEdited(d, fenceDataset(moved.value.deployment, id, off, o.eraOf(off)));
};

export const deleteEdit = (id: DatasetId): Edit<Dataset> => (d) => datasetEdited(d, deleteDataset(d, id));

export interface LeaseRequest {
  readonly datasetId: DatasetId;
  readonly nodeId: NodeId;
  /** Seconds from now; null = never expires. */
  readonly expiresInSeconds: number | null;
}

export const acquireLeaseEdit = (req: LeaseRequest): Edit<{ lease: Lease; created: boolean }> => (d, now) => {
  const r = acquireLease(d, {
    datasetId: req.datasetId, nodeId: req.nodeId,
    expiresAt: req.expiresInSeconds === null ? null : now + req.expiresInSeconds * 1000,
  });
  if (!r.ok) return r;
  const { lease, created, deployment } = r.value;
  const changed = deployment !== d;
  return ok({ value: { lease, created }, deployment, change: { datasets: NO_DATASETS, leases: changed ? new Map([[lease.datasetId, lease]]) : NO_LEASES } });
};

export const releaseLeaseEdit = (id: DatasetId): Edit<Lease> => (d) => {
  const r = releaseLease(d, id);
  if (!r.ok) return r;
  return ok({ value: r.value.lease, deployment: r.value.deployment, change: { datasets: NO_DATASETS, leases: new Map([[id, null]]) } });
};

/** Leases dropped per sweep at most, so one sweep fits one store transaction; the next sweep takes the rest. */
const MAX_EXPIRED_PER_SWEEP = 60;

/** Drop leases whose time is up (the original sweeps every second). */
export const expireLeasesEdit: Edit<number> = (d, now) => {
  const gone = [...d.leases.values()].filter((l) => l.expiresAt !== null && l.expiresAt <= now).slice(0, MAX_EXPIRED_PER_SWEEP);
  if (gone.length === 0) return ok({ value: 0, deployment: d, change: { datasets: NO_DATASETS, leases: NO_LEASES } });
  return ok({
    value: gone.length, deployment: { ...d, leases: d.leases.deleteAll(gone.map((l) => l.datasetId)) },
    change: { datasets: NO_DATASETS, leases: new Map(gone.map((l) => [l.datasetId, null])) },
  });
};
