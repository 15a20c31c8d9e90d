// The rows of `flocker ls`, computed from plain API data (flockerctl's columns, our phases).
import type { ApiConvergenceRow, ApiDatasetConfig, ApiDatasetState, ApiNode } from '../../protocol/api-json.js';
import { shortId } from '../../model/ids.js';
import { formatMetadata } from './metadata.js';
import { formatSize } from '../../model/size.js';

export interface LsInput {
  readonly configuration: readonly ApiDatasetConfig[];
  readonly state: readonly ApiDatasetState[];
  readonly nodes: readonly ApiNode[];
  readonly convergence: readonly ApiConvergenceRow[];
}

/** A status word a script can match: converged datasets are "attached", as flockerctl said. */
export type LsStatus =
  | 'attached' | 'detached' | 'pending' | 'creating' | 'attaching' | 'mounting' | 'moving'
  | 'waiting-for-lease' | 'error' | 'deleting' | 'deleted' | 'unreachable';

export interface LsRow {
  readonly dataset_id: string;
  readonly maximum_size: number | null;
  readonly metadata: Record<string, string>;
  readonly status: LsStatus;
  readonly reason?: string;
  readonly primary: string;
  /** Host of the configured primary, or null when that node has not reported. */
  readonly host: string | null;
  /** agent.yml name of the configured primary, when its agent reported one. */
  readonly node_name?: string;
  /** The node that has it now, per state. */
  readonly actual_node?: string;
  readonly deleted: boolean;
}

export function lsRows(input: LsInput, opts: { deleted: boolean }): LsRow[] {
  const state = new Map(input.state.map((s) => [s.dataset_id, s]));
  const conv = new Map(input.convergence.map((c) => [c.dataset_id, c]));
  const hosts = new Map(input.nodes.map((n) => [n.uuid, n.host]));
  const names = new Map(input.nodes.map((n) => [n.uuid, n.name]));
  const rows: LsRow[] = [];
  for (const d of input.configuration) {
    const inState = state.get(d.dataset_id);
    const c = conv.get(d.dataset_id);
    const status = statusOf(d, inState, c, hosts);
    if (status === 'deleted' && !opts.deleted) continue;
    rows.push({
      dataset_id: d.dataset_id,
      maximum_size: d.maximum_size ?? null,
      metadata: { ...d.metadata },
      status,
      ...(c && c.reason && status !== 'attached' ? { reason: c.reason } : {}),
      primary: d.primary,
      host: hosts.get(d.primary) ?? null,
      ...(names.get(d.primary) !== undefined ? { node_name: names.get(d.primary)! } : {}),
      ...(inState?.primary !== undefined ? { actual_node: inState.primary } : {}),
      deleted: d.deleted,
    });
  }
  // Held by a node although the configuration has no row for it (see `flocker adopt`).
  const configured = new Set(input.configuration.map((d) => d.dataset_id));
  for (const c of input.convergence) {
    if (configured.has(c.dataset_id)) continue;
    const inState = state.get(c.dataset_id);
    rows.push({
      dataset_id: c.dataset_id,
      maximum_size: inState?.maximum_size ?? null,
      metadata: {},
      status: 'error',
      reason: c.reason,
      primary: c.desired_node,
      host: hosts.get(c.desired_node) ?? null,
      ...(inState?.primary !== undefined ? { actual_node: inState.primary } : {}),
      deleted: false,
    });
  }
  return rows;
}

function statusOf(
  d: ApiDatasetConfig, s: ApiDatasetState | undefined, c: ApiConvergenceRow | undefined, hosts: Map<string, string>,
): LsStatus {
  if (d.deleted) return s ? 'deleting' : 'deleted';
  if (c) {
    switch (c.phase) {
      case 'converged': return 'attached';
      case 'moving-in': case 'moving-out': return 'moving';
      case 'pending': case 'creating': case 'attaching': case 'mounting': case 'waiting-for-lease': case 'error':
      case 'unreachable':
        return c.phase;
      case 'deleting': return 'deleting';
    }
  }
  if (!s) return 'pending';
  if (s.primary !== undefined && hosts.has(s.primary)) return s.primary === d.primary ? 'attached' : 'moving';
  return 'detached';
}

const MARKERS: Partial<Record<LsStatus, string>> = { attached: ' ✅', pending: ' ⌛', error: ' ❌', unreachable: ' ❌' };

export const LS_HEADERS = ['DATASET', 'SIZE', 'METADATA', 'STATUS', 'NODE', 'SERVER'] as const;

export function lsTableRow(r: LsRow, long: boolean): string[] {
  const node = long ? r.primary : shortId(r.primary);
  return [
    r.dataset_id,
    r.maximum_size === null ? '<no quota>' : formatSize(r.maximum_size, 'gib'),
    formatMetadata(r.metadata),
    `${r.status}${MARKERS[r.status] ?? ''}`,
    r.node_name ?? '-',
    r.host === null ? '<missing>' : `${node} (${r.host})`,
  ];
}

export const NODE_HEADERS = ['SERVER', 'ADDRESS', 'NAME'] as const;

export function nodeTableRow(n: ApiNode, long: boolean): string[] {
  return [long ? n.uuid : shortId(n.uuid), n.unreachable ? `${n.host} (unreachable)` : n.host, n.name ?? '-'];
}
