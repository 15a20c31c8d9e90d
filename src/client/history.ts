// PURE. The one snapshot differ, and what a follower remembers between snapshots: a log of
// changes (found by comparing successive snapshots) and, per dataset, the phases it has been seen
// in. The dashboard shows it; `cluster up` without a dashboard prints the same lines.
// Given the dataset_ids an event touched, it compares only those rows (at 100,000 datasets,
// walking every row per event was what kept a follower behind); a snapshot compares everything.
import { findRow, type ClusterSnapshot } from '../protocol/events.js';
import type { ApiConvergenceRow, ApiDatasetConfig } from '../protocol/api-json.js';
import { shortId } from '../model/ids.js';
import { NO_CONVERGENCE_TIMES, trackConvergence, trackConvergenceRows, type ConvergenceTimes } from '../protocol/convergence-times.js';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogEntry {
  /** Epoch ms. */
  readonly at: number;
  readonly level: LogLevel;
  readonly text: string;
}

export interface PhaseSeen {
  readonly phase: string;
  readonly reason: string;
  /** Epoch ms when we first saw it. */
  readonly at: number;
}

export interface FeedHistory {
  readonly log: readonly LogEntry[];
  readonly phases: Readonly<Record<string, readonly PhaseSeen[]>>;
  readonly lastError: Readonly<Record<string, string>>;
  /** The node each dataset was last seen mounted on: a hand-over passes through "mounted nowhere". */
  readonly lastHolder: Readonly<Record<string, string>>;
  /** How long recent convergences took (for the p50 in the summary). */
  readonly convergence: ConvergenceTimes;
}

export const EMPTY_HISTORY: FeedHistory = { log: [], phases: {}, lastError: {}, lastHolder: {}, convergence: NO_CONVERGENCE_TIMES };
const LOG_LIMIT = 200;
const PHASES_PER_DATASET = 20;

/** Name metadata, or the short id. */
export function datasetLabel(d: { dataset_id: string; metadata?: Readonly<Record<string, string>> } | undefined, id: string): string {
  const name = d?.metadata?.['name'];
  return name !== undefined && name !== '' ? name : shortId(id);
}

/** A message that is not a diff (connection lost, action requested): appended as is. */
export function addLog(h: FeedHistory, entry: LogEntry): FeedHistory {
  return { ...h, log: [...h.log, entry].slice(-LOG_LIMIT) };
}

export interface DiffOptions {
  /** Log every phase change (a text log), not only errors, convergence and waits (the dashboard's table shows the rest). */
  readonly everyPhase?: boolean;
}

/**
 * `h` advanced from `before` to `after`. `changed`: the dataset_ids that differ between them
 * (FeedUpdate.changed); undefined compares every row.
 *
 * Takes `h` over: its per-dataset records are updated in place (copying 100,000 entries per
 * event was the cost), so keep only the history it returns.
 */
export function advanceHistory(
  h: FeedHistory, before: ClusterSnapshot | undefined, after: ClusterSnapshot, now: number, opts: DiffOptions = {},
  changed?: ReadonlySet<string>,
): FeedHistory {
  return advance(h, before, after, now, opts, changed).history;
}

/** advanceHistory, also returning the log entries this step added. */
export function advance(
  h: FeedHistory, before: ClusterSnapshot | undefined, after: ClusterSnapshot, now: number, opts: DiffOptions = {},
  changed?: ReadonlySet<string>,
): { history: FeedHistory; added: readonly LogEntry[] } {
  const entries: LogEntry[] = [];
  const log = (level: LogLevel, text: string): void => { entries.push({ at: now, level, text }); };
  const ids = before && changed ? [...changed].sort() : undefined;
  if (before) diffSnapshots(before, after, ids, h.lastHolder, log, opts);
  else {
    const converged = after.convergence.filter((r) => r.phase === 'converged').length;
    log('info', `connected: ${after.nodes.length} node(s), ${after.configuration.filter((d) => !d.deleted).length} dataset(s), ${converged}/${after.convergence.length} converged`);
  }

  const phases = owned(h.phases, EMPTY_HISTORY.phases);
  const lastError = owned(h.lastError, EMPTY_HISTORY.lastError);
  const lastHolder = owned(h.lastHolder, EMPTY_HISTORY.lastHolder);
  const convRows = ids ? present(after.convergence, ids) : after.convergence;
  for (const row of convRows) {
    const seen = phases[row.dataset_id] ?? [];
    const prev = seen[seen.length - 1];
    if (!prev || prev.phase !== row.phase || prev.reason !== row.reason) {
      phases[row.dataset_id] = [...seen, { phase: row.phase, reason: row.reason, at: now }].slice(-PHASES_PER_DATASET);
    }
    if (row.last_error) lastError[row.dataset_id] = row.last_error;
    else if (row.phase === 'error') lastError[row.dataset_id] = row.reason;
  }
  for (const st of ids ? present(after.state, ids) : after.state) if (st.primary !== undefined) lastHolder[st.dataset_id] = st.primary;
  const convergence = ids ? trackConvergenceRows(h.convergence, convRows, ids).times : trackConvergence(h.convergence, after.convergence).times;
  return { history: { log: [...h.log, ...entries].slice(-LOG_LIMIT), phases, lastError, lastHolder, convergence }, added: entries };
}

/** A record of ours to write to: `r` itself unless it is the shared empty one. */
function owned<T>(r: Readonly<Record<string, T>>, empty: Readonly<Record<string, T>>): Record<string, T> {
  return r === empty ? {} : (r as Record<string, T>);
}

/** The rows of `ids` that `rows` (sorted by dataset_id) has. */
function present<Row extends { dataset_id: string }>(rows: readonly Row[], ids: readonly string[]): Row[] {
  const out: Row[] = [];
  for (const id of ids) {
    const r = findRow(rows, id);
    if (r) out.push(r);
  }
  return out;
}

/** Rows keyed by dataset_id: all of them, or (given `ids`) found by binary search. */
interface Rows<Row> {
  get(id: string): Row | undefined;
  /** The ids to compare: every row's, or `ids`. */
  keys(): Iterable<string>;
}

function rowsOf<Row extends { dataset_id: string }>(rows: readonly Row[], ids: readonly string[] | undefined): Rows<Row> {
  if (ids) return { get: (id) => findRow(rows, id), keys: () => ids };
  const m = new Map(rows.map((r) => [r.dataset_id, r]));
  return { get: (id) => m.get(id), keys: () => m.keys() };
}

function diffSnapshots(
  a: ClusterSnapshot, b: ClusterSnapshot, ids: readonly string[] | undefined, lastHolder: Readonly<Record<string, string>>,
  log: (l: LogLevel, t: string) => void, opts: DiffOptions,
): void {
  const configA = rowsOf(a.configuration, ids);
  const configB = rowsOf(b.configuration, ids);
  const label = (id: string): string => datasetLabel(configB.get(id) ?? configA.get(id), id);

  const nodesA = new Map(a.nodes.map((n) => [n.uuid, n]));
  for (const n of b.nodes) {
    const was = nodesA.get(n.uuid);
    if (!was) log('info', `node ${shortId(n.uuid)} (${n.host}) joined`);
    else if (was.connected && !n.connected) log('warn', `node ${shortId(n.uuid)} (${n.host}) disconnected`);
    else if (!was.connected && n.connected) log('info', `node ${shortId(n.uuid)} (${n.host}) reconnected`);
  }
  const nodesB = new Set(b.nodes.map((n) => n.uuid));
  for (const n of a.nodes) if (!nodesB.has(n.uuid)) log('warn', `node ${shortId(n.uuid)} (${n.host}) is gone`);

  for (const id of configB.keys()) {
    const d = configB.get(id);
    if (d) diffDataset(configA.get(id), d, label(id), log);
  }

  const stateA = rowsOf(a.state, ids);
  const stateB = rowsOf(b.state, ids);
  for (const id of stateB.keys()) {
    const s = stateB.get(id);
    if (s?.primary === undefined) continue;
    const was = stateA.get(id);
    if (was?.primary !== s.primary) {
      const before = was?.primary ?? lastHolder[id];
      const verb = before !== undefined && before !== s.primary ? 'moved to' : 'mounted on';
      log('info', `dataset ${label(id)} ${verb} ${shortId(s.primary)}`);
    }
  }
  for (const id of stateA.keys()) {
    if (stateA.get(id) && !stateB.get(id) && configB.get(id)?.deleted) log('info', `dataset ${label(id)} destroyed`);
  }

  const convA = rowsOf(a.convergence, ids);
  const convB = rowsOf(b.convergence, ids);
  for (const id of convB.keys()) {
    const c = convB.get(id);
    if (c) diffPhase(convA.get(id), c, label(id), log, opts);
  }

  const leasesA = new Map(a.leases.map((l) => [l.dataset_id, l]));
  const leasesB = new Map(b.leases.map((l) => [l.dataset_id, l]));
  for (const l of b.leases) {
    if (leasesA.get(l.dataset_id)?.node_uuid !== l.node_uuid) log('info', `lease on ${label(l.dataset_id)} taken by ${shortId(l.node_uuid)}`);
  }
  for (const l of a.leases) if (!leasesB.has(l.dataset_id)) log('info', `lease on ${label(l.dataset_id)} released`);
}

function diffDataset(was: ApiDatasetConfig | undefined, d: ApiDatasetConfig, label: string, log: (l: LogLevel, t: string) => void): void {
  if (!was) {
    if (!d.deleted) log('info', `dataset ${label} created on ${shortId(d.primary)}`);
    return;
  }
  if (!was.deleted && d.deleted) log('info', `dataset ${label} marked deleted`);
  else if (was.primary !== d.primary && !d.deleted) log('info', `dataset ${label} moving to ${shortId(d.primary)}`);
}

function diffPhase(
  was: ApiConvergenceRow | undefined, c: ApiConvergenceRow, label: string, log: (l: LogLevel, t: string) => void, opts: DiffOptions,
): void {
  if (c.phase === 'error' && (was?.phase !== 'error' || was.reason !== c.reason)) {
    log('error', `dataset ${label}: ${c.last_error ?? c.reason}`);
  } else if (c.phase === 'converged' && was?.phase !== 'converged') {
    log('info', `dataset ${label} converged on ${shortId(c.actual_node ?? c.desired_node)}`);
  } else if (c.phase === 'waiting-for-lease' && was?.phase !== 'waiting-for-lease') {
    log('warn', `dataset ${label}: ${c.reason}`);
  } else if (opts.everyPhase && c.phase !== 'converged' && c.phase !== 'error' && (was?.phase !== c.phase || was.reason !== c.reason)) {
    log('info', `dataset ${label}: ${c.phase} — ${c.reason}`);
  }
}
