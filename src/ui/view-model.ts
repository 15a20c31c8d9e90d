// PURE. (snapshot, now, history) -> what the dashboard shows: rows, counts, a summary line and
// how many rows of each section fit the terminal.
import { findRow, type ClusterSnapshot } from '../protocol/events.js';
import { shortId } from '../model/ids.js';
import { datasetLabel, type FeedHistory, type LogEntry, type PhaseSeen } from '../client/history.js';
import { DatasetRows } from './dataset-rows.js';
import { ago, plural } from './format.js';
import { describeConvergenceTimes } from '../protocol/convergence-times.js';

export interface NodeRow {
  readonly uuid: string;
  readonly short: string;
  readonly host: string;
  /** agent.yml name, when the node's agent reported one. */
  readonly name?: string;
  readonly connected: boolean;
  /** "connected", "last seen 12s ago" or "unreachable 40s" (silent past --node-timeout). */
  readonly status: string;
  /** Datasets mounted there now. */
  readonly datasets: number;
}

export interface DatasetRow {
  readonly id: string;
  readonly label: string;
  readonly size: string;
  readonly desired: string;
  readonly desiredShort: string;
  readonly actual?: string;
  readonly actualShort: string;
  readonly phase: string;
  readonly reason: string;
  readonly moving: boolean;
  readonly deleted: boolean;
  readonly error: boolean;
  readonly metadata: Readonly<Record<string, string>>;
  readonly path?: string;
  /** When the current phase began (epoch ms), when known; shown as "4s" with the render's clock. */
  readonly sinceMs?: number;
  readonly lastError?: string;
  readonly history: readonly PhaseSeen[];
}

export interface LeaseRow {
  readonly datasetId: string;
  readonly label: string;
  readonly node: string;
  readonly expires: string;
}

export interface Counts {
  readonly total: number;
  readonly converged: number;
  readonly moving: number;
  readonly pending: number;
  readonly deleting: number;
  readonly error: number;
}

export interface ViewModel {
  readonly summary: string;
  readonly counts: Counts;
  readonly nodes: readonly NodeRow[];
  /** After the filter. */
  readonly datasets: readonly DatasetRow[];
  /** Before the filter. */
  readonly datasetCount: number;
  readonly leases: readonly LeaseRow[];
  readonly log: readonly LogEntry[];
}

/** `rows`: keep one across renders (dataset-rows.ts) and only what changed is built again. */
export function buildViewModel(
  snap: ClusterSnapshot | undefined, now: number, history: FeedHistory, filter = '', rows = new DatasetRows(),
): ViewModel {
  if (!snap) {
    return { summary: 'waiting for the cluster…', counts: countRows([]), nodes: [], datasets: [], datasetCount: 0, leases: [], log: history.log };
  }
  const all = rows.rows(snap, history);
  const counts = countRows(all);
  const f = filter.trim().toLowerCase();
  const datasets = f === '' ? all : all.filter((r) => matches(r, f));
  // One walk of the state for every node's count (a filter per node was nodes × datasets).
  const mountedOn = new Map<string, number>();
  for (const s of snap.state) if (s.primary !== undefined) mountedOn.set(s.primary, (mountedOn.get(s.primary) ?? 0) + 1);
  const nodes: NodeRow[] = [...snap.nodes]
    .sort((a, b) => a.host.localeCompare(b.host) || a.uuid.localeCompare(b.uuid))
    .map((n) => ({
      uuid: n.uuid,
      short: shortId(n.uuid),
      host: n.host,
      ...(n.name !== undefined ? { name: n.name } : {}),
      connected: n.connected,
      status: n.unreachable ? `unreachable ${ago(now - Date.parse(n.last_seen))}`
        : n.connected ? 'connected' : `last seen ${ago(now - Date.parse(n.last_seen))} ago`,
      datasets: mountedOn.get(n.uuid) ?? 0,
    }));
  const leases: LeaseRow[] = snap.leases.map((l) => ({
    datasetId: l.dataset_id,
    label: datasetLabel(findRow(snap.configuration, l.dataset_id), l.dataset_id),
    node: shortId(l.node_uuid),
    expires: l.expires === null ? 'never' : `${Math.max(0, Math.round(l.expires))}s`,
  }));
  const connected = snap.nodes.filter((n) => n.connected).length;
  const summary = summarize(counts, snap.nodes.length, { connected, convergence: describeConvergenceTimes(history.convergence) });
  return { summary, counts, nodes, datasets, datasetCount: all.length, leases, log: history.log };
}

function matches(r: DatasetRow, f: string): boolean {
  return [r.label, r.id, r.desired, r.actual ?? '', r.phase, ...Object.values(r.metadata)]
    .some((t) => t.toLowerCase().includes(f));
}

function countRows(rows: readonly DatasetRow[]): Counts {
  let total = 0;
  let converged = 0;
  let moving = 0;
  let error = 0;
  let deleting = 0;
  let pending = 0;
  for (const r of rows) {
    if (r.error) error += 1;
    if (r.deleted) {
      deleting += 1;
      continue;
    }
    total += 1;
    if (r.phase === 'converged') converged += 1;
    if (r.moving && !r.error) moving += 1;
    if (r.phase !== 'converged' && !r.moving && !r.error) pending += 1;
  }
  return { total, converged, moving, pending, deleting, error };
}

/** "12/14 converged, 1 moving, 1 error · 3 nodes (2 connected) · p50 converge 35 ms (last 12)". */
export function summarize(c: Counts, nodes: number, live: { connected?: number; convergence?: string | undefined } = {}): string {
  const parts = [`${c.converged}/${c.total} converged`];
  if (c.moving > 0) parts.push(`${c.moving} moving`);
  if (c.pending > 0) parts.push(`${c.pending} pending`);
  if (c.deleting > 0) parts.push(`${c.deleting} deleting`);
  if (c.error > 0) parts.push(plural(c.error, 'error'));
  const agents = live.connected === undefined ? '' : ` (${live.connected} connected)`;
  const times = live.convergence === undefined ? '' : ` · ${live.convergence}`;
  return `${parts.join(', ')} · ${plural(nodes, 'node')}${agents}${times}`;
}

export interface Layout {
  readonly nodeRows: number;
  readonly datasetRows: number;
  readonly logRows: number;
  readonly showLeases: boolean;
}

/**
 * Split the terminal's height between the sections. The frame is kept one line shorter than the
 * terminal: Ink clears the whole screen (a flicker) when a frame fills it.
 */
export function layoutFor(rows: number, nodes: number, leases: number, datasets = Number.MAX_SAFE_INTEGER): Layout {
  const height = Math.max(12, rows) - 1;
  // header, nodes title, datasets header, log title, footer
  const fixed = 5 + (leases > 0 ? 1 : 0);
  const free = height - fixed;
  const nodeRows = Math.min(Math.max(nodes, 1), Math.max(1, Math.floor(free / 5)));
  const minLog = Math.max(2, Math.floor(free / 4));
  // Rows the datasets do not need go to the event log.
  const datasetRows = Math.max(1, Math.min(Math.max(1, datasets), free - nodeRows - minLog));
  const logRows = free - nodeRows - datasetRows;
  return { nodeRows, datasetRows, logRows, showLeases: leases > 0 };
}

/** The first row to show so that `selected` is visible in a window of `size` rows. */
export function scrollTop(selected: number, size: number, count: number, previousTop: number): number {
  if (count <= size) return 0;
  let top = Math.min(previousTop, count - size);
  if (selected < top) top = selected;
  if (selected >= top + size) top = selected - size + 1;
  return Math.max(0, top);
}
