import type { DatasetId, NodeId } from './ids.js';
import { idMap, idMapToRecord, type IdMap } from './id-map.js';

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

export type DatasetMap = IdMap<Dataset>;
export type LeaseMap = IdMap<Lease>;

/**
 * The desired configuration: immutable, so it can be cached against and compared by reference;
 * its records are persistent maps, so an edit costs what it changes (id-map.ts).
 */
export interface Deployment {
  readonly datasets: DatasetMap;
  readonly leases: LeaseMap;
}

/** A configuration as plain JSON-able data: what the agent channel carries (and older agents read). */
export interface DeploymentJson {
  readonly datasets: Readonly<Record<string, Dataset>>;
  readonly leases: Readonly<Record<string, Lease>>;
}

export const EMPTY_DEPLOYMENT: Deployment = { datasets: idMap(), leases: idMap() };

/** A configuration from plain records (the wire, tests); either may be left out when empty. */
export function deploymentOf(json: Partial<DeploymentJson>): Deployment {
  return { datasets: idMap(json.datasets ?? {}), leases: idMap(json.leases ?? {}) };
}

export function deploymentToJson(d: Deployment): DeploymentJson {
  return { datasets: idMapToRecord(d.datasets), leases: idMapToRecord(d.leases) };
}
