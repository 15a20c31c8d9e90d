// What the agents last reported. In memory only on the control service; pushed to every agent.
import type { DatasetId, NodeId } from './ids.js';

export const PHASES = [
  'pending', 'creating', 'attaching', 'mounting', 'converged', 'moving-out', 'moving-in',
  'waiting-for-lease', 'deleting', 'error', 'unreachable',
] as const;
export type Phase = (typeof PHASES)[number];

/** An agent's account of one dataset it acts on or waits on: what it is doing and why. */
export interface DatasetProgress {
  readonly datasetId: DatasetId;
  readonly phase: Phase;
  /** A sentence a person can act on, e.g. "waiting for node 1a2b3c4d to release its lease". */
  readonly reason: string;
  /** Epoch ms when this phase began. */
  readonly since: number;
  readonly lastError?: string;
  /** While data moves between nodes (p2p): how far along it is. */
  readonly transfer?: TransferProgress;
}

export interface TransferProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly bytesPerSecond: number;
}

/** p2p: a verified copy received from a peer, not in use here (a pre-copy, or a final copy not yet promoted). */
export interface ReplicaReport {
  readonly datasetId: DatasetId;
  readonly snapshot: string;
}

/** p2p: this node's copy was handed off to `to` at `snapshot`; it is never used here again. */
export interface HandedOffReport {
  readonly datasetId: DatasetId;
  readonly to: NodeId;
  readonly snapshot: string;
}

/** A dataset mounted (exposed) on the reporting node. */
export interface ManifestReport {
  readonly datasetId: DatasetId;
  readonly path: string;
  readonly maximumSize: number | null;
}

/** A dataset whose storage exists but is exposed nowhere, as seen from the reporting node. */
export interface NonManifestReport {
  readonly datasetId: DatasetId;
  readonly maximumSize: number | null;
}

/** What a dataset's manifest in its pool says (for `flocker adopt`). */
export interface DatasetManifestReport {
  readonly datasetId: DatasetId;
  readonly maximumSize: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** Attached to the reporting node, or in its own pool (p2p); else free in a shared pool it can reach. */
  readonly held: boolean;
}

export interface NodeReport {
  readonly manifestations: readonly ManifestReport[];
  readonly nonManifest: readonly NonManifestReport[];
  readonly progress: readonly DatasetProgress[];
  /** p2p only (absent on shared-pool backends). */
  readonly replicas?: readonly ReplicaReport[];
  readonly handedOff?: readonly HandedOffReport[];
  /** Ours, optional: the manifests of the datasets this node holds or sees free in its pool. */
  readonly manifests?: readonly DatasetManifestReport[];
}

/** Where an agent serves agent-to-agent transfers unless agent.yml says otherwise (CONTRACT.md). */
export const DEFAULT_TRANSFER_PORT = 4526;

export interface NodeState {
  readonly uuid: NodeId;
  /** Where the node is reached: the address its agent reports (else as seen by the control service). */
  readonly host: string;
  /** The agent's transfer port (agent-to-agent data moves), when it serves one. */
  readonly transferPort?: number;
  /** Kernel boot id of the agent's machine. */
  readonly era: string;
  /** agent.yml `name`, as its agent said in hello (older agents say none). */
  readonly name?: string;
  /** Epoch ms of the last message from this node. */
  readonly lastSeen: number;
  readonly connected: boolean;
  /** null until the agent's first report. */
  readonly report: NodeReport | null;
}

export interface ClusterState {
  readonly nodes: Readonly<Record<string, NodeState>>;
}

export const EMPTY_CLUSTER: ClusterState = { nodes: {} };

/** One row of /v1/state/datasets in model terms. */
export interface DatasetStateRow {
  readonly datasetId: DatasetId;
  readonly primary?: NodeId;
  readonly path?: string;
  readonly maximumSize?: number;
}

/** Mounted datasets (with primary + path) plus datasets that exist but are exposed nowhere. */
export function stateDatasets(cluster: ClusterState): DatasetStateRow[] {
  const rows = new Map<string, DatasetStateRow>();
  const nodes = Object.values(cluster.nodes).sort((a, b) => a.uuid.localeCompare(b.uuid));
  for (const node of nodes) {
    for (const m of node.report?.manifestations ?? []) {
      rows.set(m.datasetId, {
        datasetId: m.datasetId, primary: node.uuid, path: m.path,
        ...(m.maximumSize !== null ? { maximumSize: m.maximumSize } : {}),
      });
    }
  }
  for (const node of nodes) {
    for (const n of node.report?.nonManifest ?? []) {
      if (rows.has(n.datasetId)) continue;
      rows.set(n.datasetId, { datasetId: n.datasetId, ...(n.maximumSize !== null ? { maximumSize: n.maximumSize } : {}) });
    }
  }
  return [...rows.values()];
}

/** The node (if any) that reports the dataset mounted. */
export function mountedOn(cluster: ClusterState, datasetId: string): NodeState | undefined {
  return Object.values(cluster.nodes).find((n) => n.report?.manifestations.some((m) => m.datasetId === datasetId));
}
