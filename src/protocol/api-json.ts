// REST API v1 wire shapes (snake_case, as the original) and conversions from the model.
import type { Dataset, Lease } from '../model/configuration.js';
import type { DatasetStateRow, Phase } from '../model/cluster-state.js';
import type { ConvergenceRow } from '../model/convergence.js';

export interface ApiDatasetConfig {
  dataset_id: string;
  primary: string;
  deleted: boolean;
  metadata: Record<string, string>;
  /** Present only when not null. */
  maximum_size?: number;
}

export interface ApiCreateDataset {
  primary: string;
  dataset_id?: string;
  maximum_size?: number | null;
  metadata?: Record<string, string>;
}

export interface ApiDatasetState {
  dataset_id: string;
  primary?: string;
  path?: string;
  maximum_size?: number;
}

export interface ApiNode {
  uuid: string;
  host: string;
  /** Ours, present only when true: silent past the control service's --node-timeout. */
  unreachable?: boolean;
  /** Ours: agent.yml `name`, when the node's agent reported one. */
  name?: string;
}

export interface ApiLease {
  dataset_id: string;
  node_uuid: string;
  /** Seconds remaining at response time, or null for never. */
  expires: number | null;
}

export interface ApiError {
  description: string;
  errors?: string[];
}

/** GET /v1/state/manifests row (ours): a dataset's manifest as a node reads it in its pool. */
export interface ApiManifest {
  dataset_id: string;
  /** The reporting node. */
  node_uuid: string;
  /** Attached to that node (else free in a pool it can reach). */
  held: boolean;
  metadata: Record<string, string>;
  maximum_size: number | null;
}

/** GET /v1/convergence row (our addition). */
export interface ApiConvergenceRow {
  dataset_id: string;
  name?: string;
  desired_node: string;
  actual_node?: string;
  phase: Phase;
  reason: string;
  /** ISO-8601 time the phase began. */
  since: string;
  last_error?: string;
  /** While data is copied between nodes (p2p). */
  progress?: { bytes_done: number; bytes_total: number; bytes_per_second: number };
}

/** Node as carried by the event stream: the REST shape plus liveness. */
export interface ApiNodeLive extends ApiNode {
  era: string;
  connected: boolean;
  /** ISO-8601. */
  last_seen: string;
}

export function datasetToApi(d: Dataset): ApiDatasetConfig {
  return {
    dataset_id: d.datasetId,
    primary: d.primary,
    deleted: d.deleted,
    metadata: { ...d.metadata },
    ...(d.maximumSize !== null ? { maximum_size: d.maximumSize } : {}),
  };
}

export function stateToApi(row: DatasetStateRow): ApiDatasetState {
  return {
    dataset_id: row.datasetId,
    ...(row.primary !== undefined ? { primary: row.primary } : {}),
    ...(row.path !== undefined ? { path: row.path } : {}),
    ...(row.maximumSize !== undefined ? { maximum_size: row.maximumSize } : {}),
  };
}

export function leaseToApi(l: Lease, nowMs: number): ApiLease {
  return {
    dataset_id: l.datasetId,
    node_uuid: l.nodeId,
    expires: l.expiresAt === null ? null : (l.expiresAt - nowMs) / 1000,
  };
}

export function convergenceToApi(r: ConvergenceRow & { readonly since: number }): ApiConvergenceRow {
  return {
    dataset_id: r.datasetId,
    ...(r.name !== undefined ? { name: r.name } : {}),
    desired_node: r.desiredNode,
    ...(r.actualNode !== undefined ? { actual_node: r.actualNode } : {}),
    phase: r.phase,
    reason: r.reason,
    since: new Date(r.since).toISOString(),
    ...(r.lastError !== undefined ? { last_error: r.lastError } : {}),
    ...(r.progress !== undefined
      ? { progress: { bytes_done: r.progress.bytesDone, bytes_total: r.progress.bytesTotal, bytes_per_second: r.progress.bytesPerSecond } }
      : {}),
  };
}
