// PURE (no I/O, no clock). The dashboard's dataset rows, kept from one render to the next: a row
// is built again only when one of the things it is made of changed (its configuration, state and
// convergence rows, which a follower keeps as the same objects until they change, and its
// history; never the clock: how long a phase has lasted is worked out when a row is shown), and
// the sorted list is patched, not sorted again. Told of each update (note), a render looks only
// at the rows the updates since the last render touched; otherwise it walks every row.
// At 100,000 datasets building and sorting every row took 0.6-1.5 s per render, mostly garbage,
// so a dashboard open during a burst of creates took a core from the control service.
import { describeTransfer } from '../model/transfer-progress.js';
import { findRow, type ClusterSnapshot } from '../protocol/events.js';
import type { ApiConvergenceRow, ApiDatasetConfig, ApiDatasetState } from '../protocol/api-json.js';
import { shortId } from '../model/ids.js';
import { formatSize } from '../model/size.js';
import { lowerBound } from '../model/sorted.js';
import { datasetLabel, type FeedHistory, type PhaseSeen } from '../client/history.js';
import type { DatasetRow } from './view-model.js';

/** The order rows are listed in; a collator is many times faster than localeCompare per call. */
const byLabel = new Intl.Collator().compare;
const rowOrder = (a: DatasetRow, b: DatasetRow): number => byLabel(a.label, b.label) || byLabel(a.id, b.id);

/** Past this share of rows changed, sorting them all beats patching the previous order. */
const PATCH_BELOW = 1 / 8;

interface Kept {
  config: ApiDatasetConfig | undefined;
  state: ApiDatasetState | undefined;
  conv: ApiConvergenceRow | undefined;
  phases: readonly PhaseSeen[] | undefined;
  lastError: string | undefined;
  /** undefined: not listed (a deleted dataset no longer going away). */
  row: DatasetRow | undefined;
  /** The render that last saw it. */
  seen: number;
}

/** An update the feed folded in: its number, and the ids it touched (undefined: any). */
interface Note {
  readonly seq: number;
  readonly changed: ReadonlySet<string> | undefined;
}

/** Past this many updates noted without a render, the next render looks at every row. */
const NOTES_KEPT = 10_000;

export class DatasetRows {
  private readonly kept = new Map<string, Kept>();
  private sorted: DatasetRow[] = [];
  private render = 0;
  private notes: Note[] = [];
  /** Each noted snapshot's update number; weak, so snapshots nobody shows are not kept alive. */
  private readonly seqOf = new WeakMap<ClusterSnapshot, number>();
  private seq = 0;
  /** Whether `notes` begins with the update right after `last`, the snapshot rendered last. */
  private synced = false;
  private last: ClusterSnapshot | undefined;

  /**
   * The feed folded an update in: `snapshot` is what it made, `changed` the dataset ids it
   * touched (FeedUpdate.changed). The history's rows change only for those ids (advanceHistory
   * looks at no others), so a render after it visits just them.
   */
  note(snapshot: ClusterSnapshot, changed: ReadonlySet<string> | undefined): void {
    if (this.notes.length >= NOTES_KEPT) {
      this.notes = [];
      this.synced = false;
    }
    this.seq += 1;
    this.seqOf.set(snapshot, this.seq);
    this.notes.push({ seq: this.seq, changed });
  }

  /** Every row to list, in label order; the same array as last time when nothing in it changed. */
  rows(snap: ClusterSnapshot, history: FeedHistory): readonly DatasetRow[] {
    this.render += 1;
    const ids = this.changedSince(snap);
    this.last = snap;
    const added: DatasetRow[] = [];
    const dropped = new Set<DatasetRow>();
    const visit = (id: string, config: ApiDatasetConfig | undefined, state: ApiDatasetState | undefined, conv: ApiConvergenceRow | undefined): void => {
      const old = this.kept.get(id);
      if (!config && !conv) {
        if (old?.row) dropped.add(old.row);
        this.kept.delete(id);
        return;
      }
      const phases = history.phases[id];
      const lastError = history.lastError[id];
      if (old && old.config === config && old.state === state && old.conv === conv && old.phases === phases && old.lastError === lastError) {
        old.seen = this.render;
        return;
      }
      const row = config ? configuredRow(config, state, conv, history) : unconfiguredRow(conv as ApiConvergenceRow, state, history);
      if (old?.row) dropped.add(old.row);
      if (row) added.push(row);
      this.kept.set(id, { config, state, conv, phases, lastError, row, seen: this.render });
    };
    if (ids) {
      const { configuration, state, convergence } = snap;
      for (const id of ids) visit(id, findRow(configuration, id), findRow(state, id), findRow(convergence, id));
    } else {
      this.walk(snap, visit);
      for (const [id, k] of this.kept) {
        if (k.seen === this.render) continue;
        if (k.row) dropped.add(k.row);
        this.kept.delete(id);
      }
    }
    if (added.length === 0 && dropped.size === 0) return this.sorted;
    this.sorted = (added.length + dropped.size) < PATCH_BELOW * this.sorted.length
      ? patch(this.sorted, dropped, added.sort(rowOrder))
      : [...this.kept.values()].flatMap((k) => (k.row ? [k.row] : [])).sort(rowOrder);
    return this.sorted;
  }

  /** The ids changed between the last render's snapshot and `snap`; undefined: look at every row. */
  private changedSince(snap: ClusterSnapshot): ReadonlySet<string> | undefined {
    if (snap === this.last) return new Set();
    const seq = this.seqOf.get(snap);
    const upTo = seq === undefined ? -1 : this.notes.findIndex((n) => n.seq === seq);
    if (upTo < 0) {
      // Not a snapshot the feed noted: any row may differ, and the notes left may not follow it.
      this.notes = [];
      this.synced = false;
      return undefined;
    }
    const taken = this.notes.splice(0, upTo + 1);
    if (!this.synced) {
      // The notes left follow `snap` from now on.
      this.synced = true;
      return undefined;
    }
    const ids = new Set<string>();
    for (const n of taken) {
      if (!n.changed) return undefined;
      for (const id of n.changed) ids.add(id);
    }
    return ids;
  }

  /** Every row: the three sections are sorted by dataset_id, so one walk of each, no look-ups. */
  private walk(snap: ClusterSnapshot, visit: (id: string, c: ApiDatasetConfig | undefined, s: ApiDatasetState | undefined, v: ApiConvergenceRow | undefined) => void): void {
    const { configuration, state, convergence } = snap;
    let si = 0;
    let ci = 0;
    for (const d of configuration) {
      const id = d.dataset_id;
      for (; ci < convergence.length && (convergence[ci] as ApiConvergenceRow).dataset_id < id; ci++) {
        const c = convergence[ci] as ApiConvergenceRow;
        visit(c.dataset_id, undefined, findRow(state, c.dataset_id), c);
      }
      const c = ci < convergence.length && (convergence[ci] as ApiConvergenceRow).dataset_id === id ? convergence[ci++] : undefined;
      while (si < state.length && (state[si] as ApiDatasetState).dataset_id < id) si++;
      const s = si < state.length && (state[si] as ApiDatasetState).dataset_id === id ? state[si++] : undefined;
      visit(id, d, s, c);
    }
    for (; ci < convergence.length; ci++) {
      const c = convergence[ci] as ApiConvergenceRow;
      visit(c.dataset_id, undefined, findRow(state, c.dataset_id), c);
    }
  }
}

/** The first index in `sorted` whose row does not come before `r`. */
function rowPlace(sorted: readonly DatasetRow[], r: DatasetRow): number {
  return lowerBound(sorted, (x) => rowOrder(x, r) < 0);
}

/**
 * `sorted` without `dropped`, with `added` (itself sorted) put in place. Both are found by binary
 * search and the rest is copied in one pass into an array of the final length: a render compares
 * a few rows with the collator and allocates one array.
 */
function patch(sorted: readonly DatasetRow[], dropped: ReadonlySet<DatasetRow>, added: readonly DatasetRow[]): DatasetRow[] {
  const skip = new Set<number>();
  for (const r of dropped) {
    const i = rowPlace(sorted, r);
    skip.add(sorted[i] === r ? i : sorted.indexOf(r));
  }
  skip.delete(-1);
  const at = added.map((r) => rowPlace(sorted, r));
  const out = new Array<DatasetRow>(sorted.length - skip.size + added.length);
  let o = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < added.length && (at[j] as number) <= i) out[o++] = added[j++] as DatasetRow;
    if (!skip.has(i)) out[o++] = sorted[i] as DatasetRow;
  }
  while (j < added.length) out[o++] = added[j++] as DatasetRow;
  return out;
}

function sinceOf(c: ApiConvergenceRow | undefined): { sinceMs?: number } {
  const ms = c ? Date.parse(c.since) : NaN;
  return Number.isNaN(ms) ? {} : { sinceMs: ms };
}

function derivePhase(deleted: boolean, inState: boolean, actual: string | undefined, desired: string): string {
  if (deleted) return 'deleting';
  if (!inState) return 'pending';
  if (actual === desired) return 'converged';
  return actual === undefined ? 'pending' : 'moving';
}

function configuredRow(
  d: ApiDatasetConfig, s: ApiDatasetState | undefined, c: ApiConvergenceRow | undefined, history: FeedHistory,
): DatasetRow | undefined {
  // A deleted dataset stays in the configuration forever; show it only while it is going away.
  if (d.deleted && !s && (!c || c.phase !== 'deleting')) return undefined;
  const actual = s?.primary ?? c?.actual_node;
  const phase = c?.phase ?? derivePhase(d.deleted, s !== undefined, actual, d.primary);
  const moving = phase === 'moving-out' || phase === 'moving-in' || phase === 'moving'
    || (!d.deleted && actual !== undefined && actual !== d.primary);
  const lastError = c?.last_error ?? history.lastError[d.dataset_id];
  return {
    id: d.dataset_id,
    label: datasetLabel(d, d.dataset_id),
    size: d.maximum_size == null ? '-' : formatSize(d.maximum_size, 'short'),
    desired: d.primary,
    desiredShort: shortId(d.primary),
    ...(actual !== undefined ? { actual } : {}),
    actualShort: actual !== undefined ? shortId(actual) : '-',
    phase,
    reason: c?.progress ? `${c.reason} — ${describeTransfer(c.progress)}` : c?.reason ?? '',
    moving,
    deleted: d.deleted,
    error: phase === 'error',
    metadata: d.metadata,
    ...(s?.path !== undefined ? { path: s.path } : {}),
    ...sinceOf(c),
    ...(lastError !== undefined ? { lastError } : {}),
    history: history.phases[d.dataset_id] ?? [],
  };
}

/** Held by a node although the configuration has no row for it: its guard says so (adopt it). */
function unconfiguredRow(c: ApiConvergenceRow, s: ApiDatasetState | undefined, history: FeedHistory): DatasetRow {
  const actual = s?.primary ?? c.actual_node;
  const max = s?.maximum_size;
  return {
    id: c.dataset_id, label: shortId(c.dataset_id), size: max == null ? '-' : formatSize(max, 'short'),
    desired: c.desired_node, desiredShort: shortId(c.desired_node),
    ...(actual !== undefined ? { actual } : {}),
    actualShort: actual !== undefined ? shortId(actual) : '-',
    phase: c.phase, reason: c.reason, moving: false, deleted: false, error: true, metadata: {},
    ...sinceOf(c),
    history: history.phases[c.dataset_id] ?? [],
  };
}
