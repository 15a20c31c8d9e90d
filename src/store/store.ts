// What the control service needs from wherever its configuration lives (SQLite file or etcd):
// the committed configuration, an identity made when the store was created and a generation that
// grows with every committed change (agents use both to refuse a configuration from another or an
// older store), and one atomic compare-and-commit.
import type { EventEmitter } from 'node:events';
import type { Dataset, Deployment, Lease } from '../model/configuration.js';
import { patchIdMap } from '../model/id-map.js';

/** What one commit writes: only the entries that changed. A lease mapped to null is released. */
export interface StoreChange {
  readonly datasets: ReadonlyMap<string, Dataset>;
  readonly leases: ReadonlyMap<string, Lease | null>;
}

export interface StoreEvents {
  /** A committed change, ours or (etcd) another replica's, is now in `deployment`. */
  change: [what: ChangedIds];
}

/** What a committed change touched: whether datasets / leases changed, and which ids. */
export interface ChangedIds {
  readonly datasets: boolean;
  readonly leases: boolean;
  readonly datasetIds: ReadonlySet<string>;
  readonly leaseIds: ReadonlySet<string>;
}

export function changedIds(c: StoreChange): ChangedIds {
  return { datasets: c.datasets.size > 0, leases: c.leases.size > 0, datasetIds: new Set(c.datasets.keys()), leaseIds: new Set(c.leases.keys()) };
}

/** Every id in either configuration: what a wholesale replacement touched. */
export function replacedIds(before: Deployment, after: Deployment): ChangedIds {
  const datasetIds = new Set([...before.datasets.keys(), ...after.datasets.keys()]);
  const leaseIds = new Set([...before.leases.keys(), ...after.leases.keys()]);
  return { datasets: datasetIds.size > 0, leases: leaseIds.size > 0, datasetIds, leaseIds };
}

export interface ConfigurationStore extends EventEmitter<StoreEvents> {
  /** For messages: the file or the endpoints. */
  readonly description: string;
  /** Made once when the store was created; never changes. */
  readonly identity: string;
  /** Every committed change so far, as this process has seen it. */
  readonly deployment: Deployment;
  /** Grows with every committed change; persisted with it. */
  readonly generation: number;
  /**
   * Commit `change` as generation `next` if the store's generation is still `base` (compare and
   * swap), durably, before resolving. Resolves false when another writer got there first: call
   * catchUp() and recompute. `deployment` shows the change by the time this resolves true.
   */
  commit(base: number, next: number, change: StoreChange): Promise<boolean>;
  /** Resolves once `deployment` holds every change committed anywhere before the call (read-your-writes). */
  catchUp(): Promise<void>;
  /**
   * Make this store a copy of `s`, identity and generation included (`flocker store copy`, with
   * no control service running on it). What is not in `s` is removed.
   */
  replaceAll(s: StoreSnapshot): Promise<void>;
  close(): Promise<void>;
}

/** A whole store: what `flocker store copy` carries from one store to another. */
export interface StoreSnapshot {
  readonly identity: string;
  readonly generation: number;
  readonly deployment: Deployment;
}

export function isEmptyChange(c: StoreChange): boolean {
  return c.datasets.size === 0 && c.leases.size === 0;
}

/** `d` with `change` applied, in O(changed × log n); an untouched record keeps its map. */
export function applyChange(d: Deployment, change: StoreChange): Deployment {
  const released: string[] = [];
  const held: [string, Lease][] = [];
  for (const [id, l] of change.leases) {
    if (l === null) released.push(id);
    else held.push([id, l]);
  }
  return {
    datasets: change.datasets.size > 0 ? patchIdMap(d.datasets, change.datasets) : d.datasets,
    leases: change.leases.size > 0 ? patchIdMap(d.leases, held, released) : d.leases,
  };
}

/** The store can't be reached or has no quorum right now; the API answers 503 and retries later work. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
