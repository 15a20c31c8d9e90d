// What the control service needs from wherever its configuration lives (SQLite file or etcd):
// the committed configuration, an identity made when the store was created and a generation that
// grows with every committed change (agents use both to refuse a configuration from another or an
// older store), and one atomic compare-and-commit.
import type { EventEmitter } from 'node:events';
import type { Dataset, Deployment, Lease } from '../model/configuration.js';

/** What one commit writes: only the entries that changed. A lease mapped to null is released. */
export interface StoreChange {
  readonly datasets: ReadonlyMap<string, Dataset>;
  readonly leases: ReadonlyMap<string, Lease | null>;
}

export interface StoreEvents {
  /** A committed change, ours or (etcd) another replica's, is now in `deployment`. */
  change: [what: { readonly datasets: boolean; readonly leases: boolean; readonly datasetIds: ReadonlySet<string>; readonly leaseIds: ReadonlySet<string> }];
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

/** `d` with `change` applied. Touches only the changed entries' records. */
export function applyChange(d: Deployment, change: StoreChange): Deployment {
  let { datasets, leases } = d;
  if (change.datasets.size > 0) {
    const next: Record<string, Dataset> = { ...datasets };
    for (const [id, ds] of change.datasets) next[id] = ds;
    datasets = next;
  }
  if (change.leases.size > 0) {
    const next: Record<string, Lease> = { ...leases };
    for (const [id, l] of change.leases) {
      if (l === null) delete next[id];
      else next[id] = l;
    }
    leases = next;
  }
  return { datasets, leases };
}

/** The store can't be reached or has no quorum right now; the API answers 503 and retries later work. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
