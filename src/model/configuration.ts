import type { DatasetId, NodeId } from './ids.js';
import { own } from './own.js';

/** Flocker's default volume size when maximum_size is null: 75 GiB. */
export const DEFAULT_MAXIMUM_SIZE = 80_530_636_800;
export const MINIMUM_MAXIMUM_SIZE = 67_108_864;
/**
 * Ours: the largest maximum_size accepted, 1 PiB (2^50 bytes). Larger sizes are typos or probes;
 * no backend can create them, and an agent would retry the failing create forever. Also keeps
 * every size an exact integer in a JavaScript number (below 2^53).
 */
export const MAXIMUM_MAXIMUM_SIZE = 2 ** 50;
/** Ours: a lease lasts at most ten years (in seconds); `null` is the way to say "never". */
export const MAXIMUM_LEASE_SECONDS = 10 * 365 * 24 * 3600;

/** A dataset in the desired configuration. It lives on `primary`; deleted datasets stay forever. */
export interface Dataset {
  readonly datasetId: DatasetId;
  readonly primary: NodeId;
  readonly deleted: boolean;
  readonly maximumSize: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** Set by a forced move off an unreachable node; kept by later moves (its epoch only grows). */
  readonly fence?: Fence;
}

/**
 * The node (in the era it was in) a forced move took the dataset from: it must let go before
 * anything else when it comes back. `epoch` counts forced moves of the dataset; the fencing token
 * in a shared pool carries it, so a node that never heard of the fence cannot attach.
 */
/** A fence's era when control did not know the node's (not heard from since control started). */
export const ANY_ERA = '*';

export interface Fence {
  readonly node: NodeId;
  readonly era: string;
  readonly epoch: number;
}

/** A lease pins a dataset to a node while it is mounted there. expiresAt is epoch ms, null = never. */
export interface Lease {
  readonly datasetId: DatasetId;
  readonly nodeId: NodeId;
  readonly expiresAt: number | null;
}

/**
 * The desired configuration, as plain JSON-able data so it can be persisted, pushed to agents
 * and compared without conversion.
 */
export interface Deployment {
  readonly datasets: Readonly<Record<string, Dataset>>;
  readonly leases: Readonly<Record<string, Lease>>;
}

export const EMPTY_DEPLOYMENT: Deployment = { datasets: {}, leases: {} };

export function datasetOf(deployment: Deployment, id: string): Dataset | undefined {
  return own(deployment.datasets, id);
}

export function leaseOf(deployment: Deployment, id: string): Lease | undefined {
  return own(deployment.leases, id);
}
