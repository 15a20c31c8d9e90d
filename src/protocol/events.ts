// GET /v1/events (Server-Sent Events): a `snapshot` first, then one event per changed section.
// The configuration, state and convergence sections travel as changes (rows set, upserted by
// dataset_id, and dataset_ids removed) so a change costs what changed, not the whole cluster (at
// 100,000 datasets a whole configuration is ~20 MB of JSON); nodes and leases are small and
// travel whole. Every event carries `at`, the server's time (epoch ms) when it was sent, so a
// follower can tell how old what it shows is; a `tick` (only `at`) comes every second, so a
// follower that was behind can tell when it has caught up although nothing changed since. Row
// arrays are sorted by dataset_id (code units).
import type { ApiConvergenceRow, ApiDatasetConfig, ApiDatasetState, ApiLease, ApiNodeLive } from './api-json.js';

export interface ClusterSnapshot {
  /** Server time (epoch ms) of the latest event folded in. */
  at: number;
  configuration: ApiDatasetConfig[];
  /** X-Configuration-Tag of this configuration. */
  tag: string;
  state: ApiDatasetState[];
  nodes: ApiNodeLive[];
  leases: ApiLease[];
  convergence: ApiConvergenceRow[];
}

/** What changed in a section keyed by dataset_id: rows to upsert, and dataset_ids gone. */
export interface RowChanges<Row> {
  at: number;
  set: Row[];
  removed: string[];
}

export type ClusterEvent =
  | { type: 'snapshot'; data: ClusterSnapshot }
  | { type: 'configuration'; data: RowChanges<ApiDatasetConfig> & { tag: string } }
  | { type: 'state'; data: RowChanges<ApiDatasetState> }
  | { type: 'convergence'; data: RowChanges<ApiConvergenceRow> }
  | { type: 'nodes'; data: { at: number; nodes: ApiNodeLive[] } }
  | { type: 'leases'; data: { at: number; leases: ApiLease[] } }
  | { type: 'tick'; data: { at: number } };

export type ClusterEventType = ClusterEvent['type'];

interface Keyed {
  readonly dataset_id: string;
}

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Where `id` is in rows sorted by dataset_id: its index, or -(insertion point) - 1. */
export function searchRows(rows: readonly Keyed[], id: string): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = byKey((rows[mid] as Keyed).dataset_id, id);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/** The row for `id` in rows sorted by dataset_id. */
export function findRow<Row extends Keyed>(rows: readonly Row[], id: string): Row | undefined {
  const i = searchRows(rows, id);
  return i >= 0 ? rows[i] : undefined;
}

/** Past this many changes a single merge pass beats a binary search and a splice per change. */
const MERGE_ABOVE = 64;

/** `rows` (sorted by dataset_id) with `c` applied; a new array when anything changed, `rows` is left as it was. */
export function applyRowChanges<Row extends Keyed>(rows: Row[], c: { set: readonly Row[]; removed: readonly string[] }): Row[] {
  // Removed first, then set: a key both removed and set (never sent so) ends up set.
  const changes: [string, Row | undefined][] = [
    ...c.removed.map((id): [string, undefined] => [id, undefined]),
    ...c.set.map((r): [string, Row] => [r.dataset_id, r]),
  ];
  if (changes.length === 0) return rows;
  if (changes.length > MERGE_ABOVE) return merge(rows, changes);
  const out = rows.slice();
  for (const [id, row] of changes) {
    const i = searchRows(out, id);
    if (i >= 0) {
      if (row) out[i] = row;
      else out.splice(i, 1);
    } else if (row) {
      out.splice(-i - 1, 0, row);
    }
  }
  return out;
}

function merge<Row extends Keyed>(rows: readonly Row[], changes: [string, Row | undefined][]): Row[] {
  // The last change for a key wins (stable sort keeps removed before set).
  const sorted = changes.map((c, i) => [c, i] as const).sort((a, b) => byKey(a[0][0], b[0][0]) || a[1] - b[1]).map((x) => x[0]);
  const out: Row[] = [];
  let i = 0;
  for (let j = 0; j < sorted.length; j++) {
    const [id, row] = sorted[j] as [string, Row | undefined];
    if (j + 1 < sorted.length && (sorted[j + 1] as [string, Row | undefined])[0] === id) continue;
    while (i < rows.length && byKey((rows[i] as Row).dataset_id, id) < 0) out.push(rows[i++] as Row);
    if (i < rows.length && (rows[i] as Row).dataset_id === id) i++;
    if (row) out.push(row);
  }
  while (i < rows.length) out.push(rows[i++] as Row);
  return out;
}

/** The dataset_ids an event touched; undefined for a snapshot (anything may have changed). */
export function changedIds(e: ClusterEvent): ReadonlySet<string> | undefined {
  switch (e.type) {
    case 'snapshot': return undefined;
    case 'configuration':
    case 'state':
    case 'convergence': return new Set([...e.data.removed, ...e.data.set.map((r) => r.dataset_id)]);
    case 'nodes':
    case 'leases':
    case 'tick': return new Set();
  }
}

type RowEventType = 'configuration' | 'state' | 'convergence';

function wellFormed(e: ClusterEvent): boolean {
  if (e.type !== 'configuration' && e.type !== 'state' && e.type !== 'convergence') return true;
  return Array.isArray(e.data.set) && Array.isArray(e.data.removed) && e.data.set.every((r) => typeof r?.dataset_id === 'string');
}

/**
 * Events received together, as few as give the same snapshot: after a snapshot, each section's
 * changes folded into one event (the last change to a row wins), nodes and leases as last sent.
 * A follower that fell behind then pays for one pass over its rows per section, not one per
 * event (at 100,000 datasets each pass copies the section's whole array). Its history differ
 * sees only where a row ended up, not the phases it passed through in between.
 */
export function coalesceEvents(events: readonly ClusterEvent[]): ClusterEvent[] {
  // Events are parsed, not schema-checked, on the way in: anything unexpected goes on as it came.
  if (events.length < 2 || !events.every(wellFormed)) return [...events];
  let base: ClusterEvent | undefined;
  // Each section's latest event, keyed; the event sent last goes last, so its `at` is the one left.
  const latest = new Map<ClusterEventType, { event: ClusterEvent; last: number }>();
  const rows = new Map<RowEventType, Map<string, Keyed | undefined>>();
  events.forEach((e, i) => {
    if (e.type === 'snapshot') {
      base = e;
      latest.clear();
      rows.clear();
      return;
    }
    latest.set(e.type, { event: e, last: i });
    if (e.type !== 'configuration' && e.type !== 'state' && e.type !== 'convergence') return;
    let m = rows.get(e.type);
    if (!m) rows.set(e.type, (m = new Map()));
    for (const id of e.data.removed) m.set(id, undefined);
    for (const r of e.data.set) m.set(r.dataset_id, r);
  });
  const out = [...latest.values()].sort((a, b) => a.last - b.last).map(({ event }): ClusterEvent => {
    if (event.type !== 'configuration' && event.type !== 'state' && event.type !== 'convergence') return event;
    const set: Keyed[] = [];
    const removed: string[] = [];
    for (const [id, r] of rows.get(event.type) ?? []) {
      if (r) set.push(r);
      else removed.push(id);
    }
    return { type: event.type, data: { ...event.data, set, removed } } as ClusterEvent;
  });
  return base ? [base, ...out] : out;
}

/** Fold an event into the client's snapshot (a new object; the old one is left as it was). */
export function applyEvent(s: ClusterSnapshot | undefined, e: ClusterEvent): ClusterSnapshot | undefined {
  if (e.type === 'snapshot') return e.data;
  if (!s) return s;
  const at = e.data.at;
  switch (e.type) {
    case 'configuration': return { ...s, at, configuration: applyRowChanges(s.configuration, e.data), tag: e.data.tag };
    case 'state': return { ...s, at, state: applyRowChanges(s.state, e.data) };
    case 'convergence': return { ...s, at, convergence: applyRowChanges(s.convergence, e.data) };
    case 'nodes': return { ...s, at, nodes: e.data.nodes };
    case 'leases': return { ...s, at, leases: e.data.leases };
    case 'tick': return { ...s, at };
  }
}
