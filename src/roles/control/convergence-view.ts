// /v1/convergence kept row by row. A row is recomputed only when its dataset, the agents'
// reports or the set of unreachable nodes changed, and serialised only then. A configuration
// change names the ids it touched, so a create in a cluster of 100,000 datasets visits one row and
// inserts one id in the sorted order (the rows used to be walked, re-sorted and put in a new map
// on every change). A new report from an agent recomputes the rows of the datasets it or the
// report before it names: no other row reads it. A node joining, leaving or (dis)connecting, or
// becoming (un)reachable, recomputes those rows and the rows of the datasets configured on it.
// Only a wholesale replacement of the configuration recomputes every row.
import type { ClusterState, NodeReport, NodeState, Phase } from '../../model/cluster-state.js';
import type { Dataset, Deployment } from '../../model/configuration.js';
import {
  byId, convergenceRow, indexReports, reindexNode, stampRow, unconfiguredRow, unconfiguredRows,
  type ConvergenceRow, type Reachability, type ReportIndex,
} from '../../model/convergence.js';
import { own } from '../../model/own.js';
import { convergenceToApi, type ApiConvergenceRow } from '../../protocol/api-json.js';
import { position } from './sorted-ids.js';

interface Kept {
  /** What the row was computed from; undefined for a dataset the configuration has no row for. */
  readonly dataset: Dataset | undefined;
  readonly phase: Phase;
  readonly since: number;
  /**
   * The row as the API shows it, serialised: compared to tell whether it changed, and joined into
   * the section's JSON. Only the text is kept (parsed again for the few rows an event carries):
   * keeping the objects too cost ~30 MB at 100,000 datasets.
   */
  readonly text: string;
}

/**
 * What a change from cluster `a` to `b` can change in the rows. convergenceRow reads each node's
 * report (through the index), whether the node exists and is connected; never lastSeen, host,
 * era or name.
 */
interface ClusterChange {
  /** The datasets the changed reports, old or new, say something different of. */
  readonly ids: Set<string>;
  /** Nodes that joined, left or (dis)connected: the rows of datasets configured on them read that. */
  readonly nodes: Set<string>;
  /** Every node whose entry in the report index is out of date: [before, after]. */
  readonly reindex: [NodeState | undefined, NodeState | undefined][];
}

function clusterChange(a: ClusterState, b: ClusterState): ClusterChange {
  const ids = new Set<string>();
  const nodes = new Set<string>();
  const reindex: ClusterChange['reindex'] = [];
  // Only which datasets a report names, for a node whose every row may change.
  const all = (r: NodeReport | null): void => {
    if (!r) return;
    for (const m of r.manifestations) ids.add(m.datasetId);
    for (const m of r.nonManifest) ids.add(m.datasetId);
    for (const p of r.progress) ids.add(p.datasetId);
  };
  let kept = 0;
  for (const [k, y] of Object.entries(b.nodes)) {
    const x = own(a.nodes, k);
    if (!x) {
      nodes.add(k);
      all(y.report);
      reindex.push([undefined, y]);
      continue;
    }
    kept++;
    if (x.connected !== y.connected) {
      // Progress counts from connected nodes only: every row the node's report names may change.
      nodes.add(k);
      all(x.report);
      all(y.report);
      reindex.push([x, y]);
      continue;
    }
    if (x.report === y.report) continue;
    reindex.push([x, y]);
    // A report comes whole, so compare it dataset by dataset: an agent with 1,000 datasets that
    // reports one of them creating changes one row, not a thousand.
    const was = entriesById(x.report);
    const now = entriesById(y.report);
    for (const [id, e] of now) if (was.get(id) !== e) ids.add(id);
    for (const id of was.keys()) if (!now.has(id)) ids.add(id);
  }
  if (kept !== Object.keys(a.nodes).length) {
    for (const [k, x] of Object.entries(a.nodes)) {
      if (own(b.nodes, k)) continue;
      nodes.add(k);
      all(x.report);
      reindex.push([x, undefined]);
    }
  }
  return { ids, nodes, reindex };
}

/** Nodes in one set and not the other. */
function symmetricDifference(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (!b.has(x)) out.add(x);
  for (const x of b) if (!a.has(x)) out.add(x);
  return out;
}

/** What a report says of each dataset, as text, to compare two reports dataset by dataset. */
function entriesById(r: NodeReport | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!r) return out;
  const add = (kind: string, id: string, entry: unknown): void => {
    out.set(id, `${out.get(id) ?? ''}${kind}${JSON.stringify(entry)}`);
  };
  for (const m of r.manifestations) add('m', m.datasetId, m);
  for (const m of r.nonManifest) add('n', m.datasetId, m);
  for (const p of r.progress) add('p', p.datasetId, p);
  return out;
}

export class ConvergenceView {
  private cluster?: ClusterState;
  private ix: ReportIndex = indexReports({ nodes: {} });
  /** The inputs every kept row was computed from. */
  private rowsIx?: ReportIndex;
  private rowsReach?: Reachability;
  private datasets?: Deployment['datasets'];
  /** Every configured id, sorted. */
  private ids: string[] = [];
  private rows = new Map<string, Kept>();
  /** The configured ids by primary: the rows a node's joining, leaving or reachability can change. */
  private byPrimary = new Map<string, Set<string>>();
  /** The ids of `rows`, sorted. */
  private order: string[] = [];
  private textCache?: string;
  /** Rows changed or removed since takeChanges() (the event stream's delta). */
  private changedIds = new Set<string>();
  private removedIds = new Set<string>();

  /**
   * Bring the rows up to date; returns whether any row changed. `touched` names every dataset id
   * changed since the previous call (undefined: any may have; everything is recomputed).
   */
  recompute(d: Deployment, c: ClusterState, nowMs: number, reach?: Reachability, touched?: ReadonlySet<string>): boolean {
    // With the rows up to date, only the rows of what changed need work: the datasets the new
    // reports say something different of (a pong renews a node's lastSeen and so makes a new
    // cluster object that needs none: rebuilding every row for it cost ~1 s at 100,000 datasets),
    // and those configured on a node that joined, left, (dis)connected or became (un)reachable.
    const inStep = this.rowsIx === this.ix && this.rowsIx !== undefined;
    const reported = new Set<string>();
    const nodes = new Set<string>();
    const was = this.cluster;
    if (c !== was) {
      if (was && inStep) {
        const change = clusterChange(was, c);
        for (const [before, after] of change.reindex) reindexNode(this.ix, before, after);
        for (const id of change.ids) reported.add(id);
        for (const n of change.nodes) nodes.add(n);
      } else {
        this.ix = indexReports(c);
      }
      this.cluster = c;
    }
    let whole = this.ix !== this.rowsIx;
    if (!whole && reach !== this.rowsReach) {
      if (reach && this.rowsReach && reach.timeoutSeconds === this.rowsReach.timeoutSeconds) {
        for (const n of symmetricDifference(reach.unreachable, this.rowsReach.unreachable)) {
          nodes.add(n);
          // A row also reads whether the node its dataset is mounted on is reachable.
          for (const m of own(c.nodes, n)?.report?.manifestations ?? []) reported.add(m.datasetId);
        }
        this.rowsReach = reach;
      } else {
        whole = true;
      }
    }
    for (const n of nodes) for (const id of this.byPrimary.get(n) ?? []) reported.add(id);
    let changed = false;
    if (!whole && reported.size > 0) changed = this.reportRows(d, c, nowMs, reach, reported);
    if (d.datasets !== this.datasets) {
      if (this.datasets === undefined || touched === undefined) {
        this.ids = [...d.datasets.keys()].sort(byId);
        this.byPrimary = new Map();
        for (const x of d.datasets.values()) this.primaryOf(x.datasetId, undefined, x.primary);
        whole = true;
      } else {
        this.updateIds(d, touched);
        if (!whole) {
          const t = this.touchRows(d, c, nowMs, reach, touched);
          whole = t.whole;
          changed = t.changed || changed;
        }
      }
      this.datasets = d.datasets;
    }
    if (whole) changed = this.rebuild(d, c, nowMs, reach, reported) || changed;
    if (changed) this.textCache = undefined;
    return changed;
  }

  private updateIds(d: Deployment, touched: ReadonlySet<string>): void {
    for (const id of touched) {
      const p = position(this.ids, id);
      const now = d.datasets.get(id);
      if (now && !p.found) this.ids.splice(p.at, 0, id);
      if (!now && p.found) this.ids.splice(p.at, 1);
      this.primaryOf(id, this.datasets?.get(id)?.primary, now?.primary);
    }
  }

  /** Files dataset `id` under its new primary (undefined: none) instead of its old one. */
  private primaryOf(id: string, before: string | undefined, after: string | undefined): void {
    if (before === after) return;
    if (before !== undefined) {
      const s = this.byPrimary.get(before);
      s?.delete(id);
      if (s?.size === 0) this.byPrimary.delete(before);
    }
    if (after !== undefined) {
      const s = this.byPrimary.get(after);
      if (s) s.add(id);
      else this.byPrimary.set(after, new Set([id]));
    }
  }

  /** Only the touched datasets' rows (the reports and reachability are those of every kept row). */
  private touchRows(d: Deployment, c: ClusterState, nowMs: number, reach: Reachability | undefined, touched: ReadonlySet<string>): { whole: boolean; changed: boolean } {
    let changed = false;
    for (const id of touched) {
      const dataset = d.datasets.get(id);
      const old = this.rows.get(id);
      // Gone from the configuration (only a wholesale replacement does that): a node may still
      // hold it, shown without a configured row; the rebuild works that out.
      if (!dataset) {
        if (old) return { whole: true, changed };
        continue;
      }
      if (old?.dataset === dataset) continue;
      changed = this.setRow(id, convergenceRow(dataset, this.ix, c, reach), dataset, old, nowMs) || changed;
    }
    return { whole: false, changed };
  }

  /** The rows of `ids`, whose reports changed: configured or not, each is worked out again. */
  private reportRows(d: Deployment, c: ClusterState, nowMs: number, reach: Reachability | undefined, ids: ReadonlySet<string>): boolean {
    let changed = false;
    for (const id of ids) {
      const dataset = d.datasets.get(id);
      const row = dataset ? convergenceRow(dataset, this.ix, c, reach) : unconfiguredRow(id, d, this.ix);
      changed = this.setRow(id, row, dataset, this.rows.get(id), nowMs) || changed;
    }
    return changed;
  }

  /** Puts dataset `id`'s new row in its place among the kept rows, or takes its old one out; whether that changed anything. */
  private setRow(id: string, row: ConvergenceRow | undefined, dataset: Dataset | undefined, old: Kept | undefined, nowMs: number): boolean {
    const p = position(this.order, id);
    if (row) {
      const changed = this.put(this.rows, row, dataset, old, nowMs);
      if (!p.found) this.order.splice(p.at, 0, id);
      return changed;
    }
    if (!old) return false;
    this.rows.delete(id);
    this.order.splice(p.at, 1);
    this.removed(id);
    return true;
  }

  /** Every row, reusing those whose inputs are unchanged (kept rows keep their JSON text). */
  /** `stale`: rows whose inputs changed though the index and reachability are the same objects. */
  private rebuild(d: Deployment, c: ClusterState, nowMs: number, reach: Reachability | undefined, stale: ReadonlySet<string>): boolean {
    const ix = this.ix;
    const reuse = ix === this.rowsIx && reach === this.rowsReach;
    const next = new Map<string, Kept>();
    const order: string[] = [];
    let changed = false;
    for (const id of this.ids) {
      const dataset = d.datasets.get(id) as Dataset;
      const old = this.rows.get(id);
      if (reuse && old?.dataset === dataset && !stale.has(id)) {
        next.set(id, old);
        order.push(id);
        continue;
      }
      const row = convergenceRow(dataset, ix, c, reach);
      if (!row) continue;
      changed = this.put(next, row, dataset, old, nowMs) || changed;
      order.push(id);
    }
    const extra = unconfiguredRows(d, ix);
    for (const row of extra) {
      changed = this.put(next, row, undefined, this.rows.get(row.datasetId), nowMs) || changed;
      order.push(row.datasetId);
    }
    if (extra.length > 0) order.sort(byId);
    if (next.size !== this.rows.size) changed = true;
    for (const id of this.rows.keys()) if (!next.has(id)) this.removed(id);
    this.rows = next;
    this.order = order;
    this.rowsIx = ix;
    this.rowsReach = reach;
    return changed;
  }

  /** Stamp and serialise `row` into `into`; whether it differs from `old`. */
  private put(into: Map<string, Kept>, row: ConvergenceRow, dataset: Dataset | undefined, old: Kept | undefined, nowMs: number): boolean {
    const stamped = stampRow(row, old, nowMs);
    const text = JSON.stringify(convergenceToApi(stamped));
    into.set(row.datasetId, { dataset, phase: stamped.phase, since: stamped.since, text });
    if (text !== old?.text) {
      this.changedIds.add(row.datasetId);
      this.removedIds.delete(row.datasetId);
      return true;
    }
    return false;
  }

  private removed(id: string): void {
    this.removedIds.add(id);
    this.changedIds.delete(id);
  }

  /** Rows changed (current values) and removed since the last call. */
  takeChanges(): { set: ApiConvergenceRow[]; removed: string[] } {
    const set: ApiConvergenceRow[] = [];
    for (const id of this.changedIds) {
      const kept = this.rows.get(id);
      if (kept) set.push(JSON.parse(kept.text) as ApiConvergenceRow);
    }
    const removed = [...this.removedIds];
    this.changedIds = new Set();
    this.removedIds = new Set();
    return { set, removed };
  }

  /**
   * Forget the rows changed and removed since the last takeChanges(): a first reader's snapshot
   * covers them. Parsing them back (up to every row after a rebuild) only to throw them away
   * cost ~0.3 s at 100,000 datasets.
   */
  dropChanges(): void {
    this.changedIds = new Set();
    this.removedIds = new Set();
  }

  /** How many rows are in each phase. */
  phaseCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const k of this.rows.values()) counts.set(k.phase, (counts.get(k.phase) ?? 0) + 1);
    return counts;
  }

  /** The rows' own JSON texts joined: the very text JSON.stringify(rows) makes, without serialising every row again. */
  get json(): string {
    return (this.textCache ??= `[${this.order.map((id) => (this.rows.get(id) as Kept).text).join(',')}]`);
  }
}
