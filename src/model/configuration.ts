import type { DatasetId, NodeId } from './ids.js';

/** Flocker's default volume size when maximum_size is null: 75 GiB. */
export const DEFAULT_MAXIMUM_SIZE = 80_530_636_800;
export const MINIMUM_MAXIMUM_SIZE = 67_108_864;

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
  return deployment.datasets[id];
}

export function leaseOf(deployment: Deployment, id: string): Lease | undefined {
  return deployment.leases[id];
}
