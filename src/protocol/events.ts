// GET /v1/events (Server-Sent Events): a `snapshot` first, then one event per changed section.
// The configuration, state and convergence sections travel as changes (rows set, upserted by
// dataset_id, and dataset_ids removed) so a change costs what changed, not the whole cluster (at
// 100,000 datasets a whole configuration is ~20 MB of JSON); nodes and leases are small and
// travel whole. Every event carries `at`, the server's time (epoch ms) when it was sent, so a
// follower can tell how old what it shows is; a `tick` (only `at`) comes every second, so a
// follower that was behind can tell when it has caught up although nothing changed since. Row
// arrays are sorted by dataset_id (code units). The last event of each announcement has an SSE
// id; a follower that reconnects with it as Last-Event-ID may get `resumed` (only `at`) and the
// events it missed instead of a snapshot.
import type { ApiConvergenceRow, ApiDatasetConfig, ApiDatasetState, ApiLease, ApiNodeLive } from './api-json.js';
import { byId } from '../model/convergence.js';
import { lowerBound } from '../model/sorted.js';

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
  | { type: 'tick'; data: { at: number } }
  /** Instead of a snapshot: what follows continues from the follower's Last-Event-ID. */
  | { type: 'resumed'; data: { at: number } };

export type ClusterEventType = ClusterEvent['type'];

interface Keyed {
  readonly dataset_id: string;
}


/** Where `id` is in rows sorted by dataset_id: its index, or -(insertion point) - 1. */
export function searchRows(rows: readonly Keyed[], id: string): number {
  const at = lowerBound(rows, (r) => byId(r.dataset_id, id) < 0);
  return rows[at]?.dataset_id === id ? at : -at - 1;
}

/** The row for `id` in rows sorted by dataset_id. */
export function findRow<Row extends Keyed>(rows: readonly Row[], id: string): Row | undefined {
  const i = searchRows(rows, id);
  return i >= 0 ? rows[i] : undefined;
}

/**
 * `rows` (sorted by dataset_id) with `c` applied; a new array when anything changed, `rows` is
 * left as it was. One pass that copies the rows between the changed positions into an array of
 * the final length: a splice per change cost a copy of the whole array each (~5 ms at 100,000
 * rows), and a follower fell behind applying a burst of creates.
 */
export function applyRowChanges<Row extends Keyed>(rows: Row[], c: { set: readonly Row[]; removed: readonly string[] }): Row[] {
  // Removed first, then set: a key both removed and set (never sent so) ends up set.
  const changes = new Map<string, Row | undefined>();
  for (const id of c.removed) changes.set(id, undefined);
  for (const r of c.set) changes.set(r.dataset_id, r);
  if (changes.size === 0) return rows;
  const ids = [...changes.keys()].sort(byId);
  const at = ids.map((id) => searchRows(rows, id));
  let length = rows.length;
  ids.forEach((id, j) => {
    const found = (at[j] as number) >= 0;
    const row = changes.get(id);
    if (found && !row) length -= 1;
    if (!found && row) length += 1;
  });
  const out = new Array<Row>(length);
  let o = 0;
  let from = 0;
  ids.forEach((id, j) => {
    const i = at[j] as number;
    const to = i >= 0 ? i : -i - 1;
    while (from < to) out[o++] = rows[from++] as Row;
    if (i >= 0) from += 1;
    const row = changes.get(id);
    if (row) out[o++] = row;
  });
  while (from < rows.length) out[o++] = rows[from++] as Row;
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
    case 'tick':
    case 'resumed': return new Set();
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
    case 'tick':
    case 'resumed': return { ...s, at };
  }
}
