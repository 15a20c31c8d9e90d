// Serialisation of what the control service shows, one serialiser for the REST API, the event
// stream and the agent channel. Each view is computed from the immutable configuration and
// cluster objects and cached against them, so a section is serialised once per change however
// many requests read it, and nothing is ever spliced from strings.
import type { Deployment } from '../../model/configuration.js';
import { sortedById } from '../../model/id-map.js';
import { stateDatasets, type ClusterState } from '../../model/cluster-state.js';
import type { Reachability } from '../../model/convergence.js';
import type { ConfigurationStore } from '../../store/store.js';
import { TouchedSince } from '../../store/touched.js';
import { ConfigurationView } from './configuration-view.js';
import { ConvergenceView } from './convergence-view.js';
import {
  leaseToApi, stateToApi,
  type ApiConvergenceRow, type ApiDatasetState, type ApiLease, type ApiNode, type ApiNodeLive,
} from '../../protocol/api-json.js';

function sortedValues<T>(record: Readonly<Record<string, T>>): T[] {
  return Object.keys(record).sort().map((k) => record[k] as T);
}

/** A value and its JSON text, both computed at most once per source object. */
class Cached<S extends object, V> {
  private source?: S;
  private value?: V;
  private text?: string;
  constructor(private readonly compute: (s: S) => V) {}
  get(s: S): V {
    if (this.source !== s || this.value === undefined) {
      this.source = s;
      this.value = this.compute(s);
      this.text = undefined;
    }
    return this.value;
  }
  json(s: S): string {
    const v = this.get(s);
    return (this.text ??= JSON.stringify(v));
  }
}

export class Views {
  readonly state = new Cached((c: ClusterState): ApiDatasetState[] => stateDatasets(c).map(stateToApi));
  /** /v1/state/nodes: nodes that have reported state. */
  readonly nodes = new Cached((c: ClusterState): ApiNode[] => sortedValues(c.nodes)
    .filter((n) => n.report !== null)
    .map((n) => ({ uuid: n.uuid, host: n.host, ...(n.name !== undefined ? { name: n.name } : {}) })));
  readonly nodesLive = new Cached((c: ClusterState): ApiNodeLive[] => sortedValues(c.nodes).map((n) => ({
    uuid: n.uuid, host: n.host, ...(n.name !== undefined ? { name: n.name } : {}), era: n.era, connected: n.connected, last_seen: new Date(n.lastSeen).toISOString(),
  })));
  readonly configuration: ConfigurationView;
  private readonly convergenceView = new ConvergenceView();
  /** Dataset ids changed since convergence was last recomputed, so only their rows are visited. */
  private readonly convergenceTouched: TouchedSince;

  /** The views of the configuration are kept from the ids each of `store`'s commits touched. */
  constructor(store: ConfigurationStore) {
    this.configuration = new ConfigurationView(new TouchedSince(store));
    this.convergenceTouched = new TouchedSince(store);
  }

  /** Leases carry seconds remaining, so they are computed per response. */
  leases(d: Deployment, nowMs: number): ApiLease[] {
    return sortedById(d.leases).map((l) => leaseToApi(l, nowMs));
  }

  /** Recompute /v1/convergence (phases keep their `since` across recomputations). Returns whether it changed. */
  recomputeConvergence(d: Deployment, c: ClusterState, nowMs: number, reach?: Reachability): boolean {
    return this.convergenceView.recompute(d, c, nowMs, reach, this.convergenceTouched.take().datasetIds);
  }

  /** Convergence rows changed and removed since the last call (the event stream's delta). */
  takeConvergenceChanges(): { set: ApiConvergenceRow[]; removed: string[] } {
    return this.convergenceView.takeChanges();
  }

  dropConvergenceChanges(): void {
    this.convergenceView.dropChanges();
  }

  convergencePhases(): Map<string, number> {
    return this.convergenceView.phaseCounts();
  }

  get convergenceJson(): string {
    return this.convergenceView.json;
  }
}
