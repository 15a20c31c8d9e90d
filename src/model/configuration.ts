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
