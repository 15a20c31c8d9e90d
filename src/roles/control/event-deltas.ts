// What GET /v1/events sends after its snapshot (protocol/events.ts): each announcement's changes,
// worked out once, for the first reader that asks, and the same text for every reader. Worked out
// from what changed (the store's touched ids, the reports that changed, the convergence rows
// recomputed), never by comparing whole sections; with no reader nothing is worked out, and the
// next reader's snapshot covers everything since.
import type { ClusterState } from '../../model/cluster-state.js';
import type { Deployment } from '../../model/configuration.js';
import { datasetToApi, type ApiConvergenceRow, type ApiDatasetConfig, type ApiLease } from '../../protocol/api-json.js';
import type { Section } from './sections.js';
import { StateRows } from './state-rows.js';

/** What the deltas are worked out from: the hub's current values. */
export interface DeltaSource {
  deployment(): Deployment;
  cluster(): ClusterState;
  tag(): string;
  nodesLiveJson(): string;
  leases(): ApiLease[];
  /** The convergence rows changed and removed since the last call. */
  takeConvergenceChanges(): { set: ApiConvergenceRow[]; removed: string[] };
  /** Forget the convergence rows changed since the last call, without building them. */
  dropConvergenceChanges(): void;
}

export class EventDeltas {
  private readonly stateRows = new StateRows();
  private configIds = new Set<string>();
  private latest?: { readonly generation: number; readonly json: Map<Section, string> };

  constructor(private readonly source: DeltaSource) {}

  /** The store committed changes to these datasets. */
  touched(datasetIds: Iterable<string>): void {
    for (const id of datasetIds) this.configIds.add(id);
  }

  /**
   * Deltas are worked out again from now on (the hub calls this when the event stream gets a
   * reader after none, and keeps count of readers itself). What changed since they were last
   * worked out is owed to nobody: forgotten, or the first delta after a quiet spell would carry
   * every change since.
   */
  start(): void {
    this.configIds = new Set();
    this.source.dropConvergenceChanges();
    this.stateRows.changes(this.source.cluster());
  }

  /** The JSON text of announcement `generation`'s event for `section`, stamped `at`. */
  json(section: Section, generation: number, at: number): string {
    if (this.latest?.generation !== generation) this.latest = { generation, json: new Map() };
    const cached = this.latest.json.get(section);
    if (cached !== undefined) return cached;
    const s = this.source;
    let json: string;
    switch (section) {
      case 'configuration': json = JSON.stringify({ at, tag: s.tag(), ...this.configurationChanges() }); break;
      case 'state': json = JSON.stringify({ at, ...this.stateRows.changes(s.cluster()) }); break;
      case 'nodes': json = JSON.stringify({ at, nodes: JSON.parse(s.nodesLiveJson()) as unknown }); break;
      case 'leases': json = JSON.stringify({ at, leases: s.leases() }); break;
      case 'convergence': json = JSON.stringify({ at, ...s.takeConvergenceChanges() }); break;
    }
    this.latest.json.set(section, json);
    return json;
  }

  /** The changed datasets' rows, serialised from their records alone (not the whole view again). */
  private configurationChanges(): { set: ApiDatasetConfig[]; removed: string[] } {
    const datasets = this.source.deployment().datasets;
    const set: ApiDatasetConfig[] = [];
    const removed: string[] = [];
    for (const id of [...this.configIds].sort()) {
      const d = datasets.get(id);
      if (d) set.push(datasetToApi(d));
      else removed.push(id);
    }
    this.configIds = new Set();
    return { set, removed };
  }
}
