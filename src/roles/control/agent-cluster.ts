// The cluster as agents are told it: each node as it is, but its report cut to what another agent
// plans with, what the node holds (mounted, free, p2p replicas and hand-offs). No agent reads
// another's progress or manifests, and progress changes on every step of every dataset: carried
// along, each such report was pushed to every agent (and woke them all) for nothing.
import type { ClusterState, NodeReport, NodeState } from '../../model/cluster-state.js';
import { own } from '../../model/own.js';

function holdings(r: NodeReport): NodeReport {
  return {
    manifestations: r.manifestations, nonManifest: r.nonManifest, progress: [],
    ...(r.replicas ? { replicas: r.replicas } : {}),
    ...(r.handedOff ? { handedOff: r.handedOff } : {}),
  };
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, same: (x: T, y: T) => boolean): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
  return true;
}

function sameHoldings(a: NodeReport, b: NodeReport): boolean {
  return sameList(a.manifestations, b.manifestations, (x, y) => x.datasetId === y.datasetId && x.path === y.path && x.maximumSize === y.maximumSize)
    && sameList(a.nonManifest, b.nonManifest, (x, y) => x.datasetId === y.datasetId && x.maximumSize === y.maximumSize)
    && sameList(a.replicas, b.replicas, (x, y) => x.datasetId === y.datasetId && x.snapshot === y.snapshot)
    && sameList(a.handedOff, b.handedOff, (x, y) => x.datasetId === y.datasetId && x.to === y.to && x.snapshot === y.snapshot);
}

/**
 * Keeps each node's cut report while what it holds is unchanged (the same object), so a delta
 * between two views (protocol/delta.ts compares a node's fields by identity) is empty when only
 * progress moved.
 */
export class AgentCluster {
  private readonly nodes = new Map<string, { readonly source: NodeState; readonly view: NodeState }>();

  view(cluster: ClusterState): ClusterState {
    const out: Record<string, NodeState> = {};
    let count = 0;
    for (const [id, node] of Object.entries(cluster.nodes)) {
      count++;
      const kept = this.nodes.get(id);
      if (kept?.source === node) {
        out[id] = kept.view;
        continue;
      }
      let report = node.report === null ? null : holdings(node.report);
      const before = kept?.view.report;
      if (report && before && sameHoldings(report, before)) report = before;
      const view: NodeState = { ...node, report };
      this.nodes.set(id, { source: node, view });
      out[id] = view;
    }
    if (this.nodes.size !== count) for (const id of [...this.nodes.keys()]) if (!own(out, id)) this.nodes.delete(id);
    return { nodes: out };
  }
}
