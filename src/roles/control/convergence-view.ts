// /v1/convergence kept row by row. A row is recomputed only when its dataset, the agents'
// reports or the set of unreachable nodes changed, and serialised only then, so a create in a
// cluster of 100,000 datasets costs one row rather than 100,000 (the rows and their JSON used to
// be rebuilt, sorted with localeCompare and compared as one text on every change).
import type { ClusterState, Phase } from '../../model/cluster-state.js';
import type { Dataset, Deployment } from '../../model/configuration.js';
import {
  byId, convergenceRow, indexReports, stampRow, unconfiguredRows,
  type ConvergenceRow, type Reachability, type ReportIndex,
} from '../../model/convergence.js';
import { convergenceToApi, type ApiConvergenceRow } from '../../protocol/api-json.js';

interface Kept {
  /** What the row was computed from; undefined for a dataset the configuration has no row for. */
  readonly dataset: Dataset | undefined;
  readonly ix: ReportIndex;
  readonly reach: Reachability | undefined;
  readonly phase: Phase;
  readonly since: number;
  readonly value: ApiConvergenceRow;
  /** Compared to tell whether the row changed; the section's JSON is serialised from `value`. */
  readonly text: string;
}

export class ConvergenceView {
  private cluster?: ClusterState;
  private ix: ReportIndex = indexReports({ nodes: {} });
  private datasets?: Deployment['datasets'];
  private ids: string[] = [];
  private rows = new Map<string, Kept>();
  private order: string[] = [];
  private valueCache?: ApiConvergenceRow[];
  private textCache?: string;
  /** Rows changed or removed since takeChanges() (the event stream's delta). */
  private changedIds = new Set<string>();
  private removedIds = new Set<string>();

  /** Bring the rows up to date; returns whether any row changed. */
  recompute(d: Deployment, c: ClusterState, nowMs: number, reach?: Reachability): boolean {
    if (c !== this.cluster) {
      this.cluster = c;
      this.ix = indexReports(c);
    }
    if (d.datasets !== this.datasets) {
      this.datasets = d.datasets;
      this.ids = Object.keys(d.datasets).sort(byId);
    }
    const ix = this.ix;
    const next = new Map<string, Kept>();
    const order: string[] = [];
    let changed = false;
    let added = 0;
    const put = (id: string, row: ConvergenceRow, dataset: Dataset | undefined, old: Kept | undefined): void => {
      const stamped = stampRow(row, old, nowMs);
      const value = convergenceToApi(stamped);
      const text = JSON.stringify(value);
      if (!old) added += 1;
      if (text !== old?.text) {
        changed = true;
        this.changedIds.add(id);
        this.removedIds.delete(id);
      }
      next.set(id, { dataset, ix, reach, phase: stamped.phase, since: stamped.since, value, text });
      order.push(id);
    };
    for (const id of this.ids) {
      const dataset = d.datasets[id] as Dataset;
      const old = this.rows.get(id);
      if (old && old.dataset === dataset && old.ix === ix && old.reach === reach) {
        next.set(id, old);
        order.push(id);
        continue;
      }
      const row = convergenceRow(dataset, ix, c, reach);
      if (row) put(id, row, dataset, old);
    }
    const extra = unconfiguredRows(d, ix);
    for (const row of extra) put(row.datasetId, row, undefined, this.rows.get(row.datasetId));
    if (extra.length > 0) order.sort(byId);
    if (next.size !== this.rows.size) changed = true;
    // Rows kept or put are in `next`; the old rows missing from it are the removed ones.
    if (this.rows.size + added > next.size) {
      for (const id of this.rows.keys()) {
        if (next.has(id)) continue;
        this.removedIds.add(id);
        this.changedIds.delete(id);
      }
    }
    this.rows = next;
    this.order = order;
    if (changed) {
      this.valueCache = undefined;
      this.textCache = undefined;
    }
    return changed;
  }

  /** Rows changed (current values) and removed since the last call. */
  takeChanges(): { set: ApiConvergenceRow[]; removed: string[] } {
    const set: ApiConvergenceRow[] = [];
    for (const id of this.changedIds) {
      const kept = this.rows.get(id);
      if (kept) set.push(kept.value);
    }
    const removed = [...this.removedIds];
    this.changedIds = new Set();
    this.removedIds = new Set();
    return { set, removed };
  }

  get value(): readonly ApiConvergenceRow[] {
    return (this.valueCache ??= this.order.map((id) => (this.rows.get(id) as Kept).value));
  }

  get json(): string {
    return (this.textCache ??= JSON.stringify(this.value));
  }
}
