// GET /v1/events (Server-Sent Events): a `snapshot` first, then one event per changed section,
// each carrying that section's full current value (simple for clients: replace, don't merge).
import type { ApiConvergenceRow, ApiDatasetConfig, ApiDatasetState, ApiLease, ApiNodeLive } from './api-json.js';

export interface ClusterSnapshot {
  configuration: ApiDatasetConfig[];
  /** X-Configuration-Tag of this configuration. */
  tag: string;
  state: ApiDatasetState[];
  nodes: ApiNodeLive[];
  leases: ApiLease[];
  convergence: ApiConvergenceRow[];
}

export type ClusterEvent =
  | { type: 'snapshot'; data: ClusterSnapshot }
  | { type: 'configuration'; data: { configuration: ApiDatasetConfig[]; tag: string } }
  | { type: 'state'; data: ApiDatasetState[] }
  | { type: 'nodes'; data: ApiNodeLive[] }
  | { type: 'leases'; data: ApiLease[] }
  | { type: 'convergence'; data: ApiConvergenceRow[] };

export type ClusterEventType = ClusterEvent['type'];

/** Fold an event into the client's snapshot. */
export function applyEvent(s: ClusterSnapshot | undefined, e: ClusterEvent): ClusterSnapshot | undefined {
  if (e.type === 'snapshot') return e.data;
  if (!s) return s;
  switch (e.type) {
    case 'configuration': return { ...s, configuration: e.data.configuration, tag: e.data.tag };
    case 'state': return { ...s, state: e.data };
    case 'nodes': return { ...s, nodes: e.data };
    case 'leases': return { ...s, leases: e.data };
    case 'convergence': return { ...s, convergence: e.data };
  }
}
