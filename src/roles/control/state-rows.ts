// The rows of GET /v1/state/datasets kept per dataset, so the event stream can send what changed:
// only the rows of datasets that a node whose report changed mentions (before or after) are
// recomputed, never all of them. Gives the same rows as stateDatasets() (model/cluster-state.ts):
// a dataset mounted somewhere is the last such node's (nodes in uuid order), else the first
// node's that holds it unmounted.
import type { ClusterState, ManifestReport, NodeReport, NodeState, NonManifestReport } from '../../model/cluster-state.js';
import type { DatasetId, NodeId } from '../../model/ids.js';
import { own } from '../../model/own.js';
import { stateToApi, type ApiDatasetState } from '../../protocol/api-json.js';

interface NodeRows {
  /** The last manifestation per dataset (a later one replaces an earlier, as in stateDatasets). */
  readonly mounted: ReadonlyMap<string, ManifestReport>;
  /** The first non-manifestation per dataset. */
  readonly unmounted: ReadonlyMap<string, NonManifestReport>;
}

function indexReport(r: NodeReport): NodeRows {
  const mounted = new Map<string, ManifestReport>();
  for (const m of r.manifestations) mounted.set(m.datasetId, m);
  const unmounted = new Map<string, NonManifestReport>();
  for (const n of r.nonManifest) if (!unmounted.has(n.datasetId)) unmounted.set(n.datasetId, n);
  return { mounted, unmounted };
}

export class StateRows {
  private nodes: Readonly<Record<string, NodeState>> = {};
  private readonly byNode = new Map<string, NodeRows>();
  /** dataset → the nodes whose report mentions it. */
  private readonly mentions = new Map<string, Set<string>>();
  /** dataset → its row's JSON as last handed out, to leave unchanged rows out. */
  private readonly sent = new Map<string, string>();

  /** The rows set and the datasets removed since the last call, worked out from the reports that changed. */
  changes(cluster: ClusterState): { set: ApiDatasetState[]; removed: string[] } {
    const touched = new Set<string>();
    if (cluster.nodes !== this.nodes) {
      for (const uuid of new Set([...Object.keys(this.nodes), ...Object.keys(cluster.nodes)])) {
        const report = own(cluster.nodes, uuid)?.report ?? null;
        if ((own(this.nodes, uuid)?.report ?? null) === report) continue;
        this.reindex(uuid, report, touched);
      }
      this.nodes = cluster.nodes;
    }
    const set: ApiDatasetState[] = [];
    const removed: string[] = [];
    for (const id of touched) {
      const row = this.row(id);
      if (!row) {
        if (this.sent.delete(id)) removed.push(id);
        continue;
      }
      const text = JSON.stringify(row);
      if (this.sent.get(id) === text) continue;
      this.sent.set(id, text);
      set.push(row);
    }
    return { set, removed };
  }

  private reindex(uuid: string, report: NodeReport | null, touched: Set<string>): void {
    const old = this.byNode.get(uuid);
    if (old) {
      for (const id of [...old.mounted.keys(), ...old.unmounted.keys()]) {
        touched.add(id);
        const m = this.mentions.get(id);
        m?.delete(uuid);
        if (m?.size === 0) this.mentions.delete(id);
      }
      this.byNode.delete(uuid);
    }
    if (!report) return;
    const rows = indexReport(report);
    this.byNode.set(uuid, rows);
    for (const id of [...rows.mounted.keys(), ...rows.unmounted.keys()]) {
      touched.add(id);
      let m = this.mentions.get(id);
      if (!m) this.mentions.set(id, (m = new Set()));
      m.add(uuid);
    }
  }

  private row(id: string): ApiDatasetState | undefined {
    const holders = [...(this.mentions.get(id) ?? [])].sort((a, b) => a.localeCompare(b));
    for (let i = holders.length - 1; i >= 0; i--) {
      const uuid = holders[i] as string;
      const m = this.byNode.get(uuid)?.mounted.get(id);
      if (m) return stateToApi({ datasetId: id as DatasetId, primary: uuid as NodeId, path: m.path, ...(m.maximumSize !== null ? { maximumSize: m.maximumSize } : {}) });
    }
    for (const uuid of holders) {
      const n = this.byNode.get(uuid)?.unmounted.get(id);
      if (n) return stateToApi({ datasetId: id as DatasetId, ...(n.maximumSize !== null ? { maximumSize: n.maximumSize } : {}) });
    }
    return undefined;
  }
}
