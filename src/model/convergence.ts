// Explainable convergence: join the desired configuration with what the agents report, one row
// per dataset, saying what the cluster is doing about it and why. Pure; the clock-dependent
// `since` memo is kept by the caller (stampSince).
import type { Deployment } from './configuration.js';
import type { ClusterState, DatasetProgress, NodeState, Phase, TransferProgress } from './cluster-state.js';
import { shortId, type DatasetId, type NodeId } from './ids.js';
import { own } from './own.js';

export interface ConvergenceRow {
  readonly datasetId: DatasetId;
  readonly name?: string;
  readonly desiredNode: NodeId;
  readonly actualNode?: NodeId;
  readonly phase: Phase;
  readonly reason: string;
  /** Epoch ms from the agent's progress; undefined when the phase is inferred here. */
  readonly since?: number;
  readonly lastError?: string;
  /** While data is copied between nodes (p2p). */
  readonly progress?: TransferProgress;
}

function fromProgress(base: Omit<ConvergenceRow, 'phase' | 'reason'>, p: DatasetProgress): ConvergenceRow {
  return {
    ...base, phase: p.phase, reason: p.reason, since: p.since,
    ...(p.lastError !== undefined ? { lastError: p.lastError } : {}),
    ...(p.transfer !== undefined ? { progress: p.transfer } : {}),
  };
}

/** Per-dataset index of the reports, so the join is linear in the size of the cluster. */
interface Index {
  readonly mounted: Map<string, { node: NodeState; path: string }>;
  /** Datasets some node reports in any way. */
  readonly reported: Set<string>;
  /** Progress from connected agents only: stale progress describes nothing happening now. */
  readonly progress: Map<string, { node: NodeId; p: DatasetProgress }[]>;
}

function indexReports(nodes: readonly NodeState[]): Index {
  const ix: Index = { mounted: new Map(), reported: new Set(), progress: new Map() };
  for (const n of nodes) {
    const r = n.report;
    if (!r) continue;
    for (const m of r.manifestations) {
      if (!ix.mounted.has(m.datasetId)) ix.mounted.set(m.datasetId, { node: n, path: m.path });
      ix.reported.add(m.datasetId);
    }
    for (const m of r.nonManifest) ix.reported.add(m.datasetId);
    for (const p of r.progress) {
      ix.reported.add(p.datasetId);
      if (!n.connected) continue;
      const list = ix.progress.get(p.datasetId) ?? [];
      list.push({ node: n.uuid, p });
      ix.progress.set(p.datasetId, list);
    }
  }
  return ix;
}

/** Nodes silent past the control service's --node-timeout, and that timeout, for the reason text. */
export interface Reachability {
  readonly unreachable: ReadonlySet<string>;
  readonly timeoutSeconds: number;
}

export function unreachableReason(node: string, timeoutSeconds: number): string {
  return `node ${shortId(node)} has not reported for over ${timeoutSeconds} s; its data stays where it is: `
    + `\`flocker move --force\` moves the dataset to another node and fences node ${shortId(node)}`;
}

export function convergenceRows(deployment: Deployment, cluster: ClusterState, reach?: Reachability): ConvergenceRow[] {
  const nodes = Object.values(cluster.nodes).sort((a, b) => a.uuid.localeCompare(b.uuid));
  const ix = indexReports(nodes);
  const rows: ConvergenceRow[] = [];
  const datasets = Object.values(deployment.datasets).sort((a, b) => a.datasetId.localeCompare(b.datasetId));
  for (const d of datasets) {
    if (d.deleted && !ix.reported.has(d.datasetId)) continue;
    const mounted = ix.mounted.get(d.datasetId);
    const name = d.metadata.name;
    const base = {
      datasetId: d.datasetId,
      ...(name !== undefined ? { name } : {}),
      desiredNode: d.primary,
      ...(mounted ? { actualNode: mounted.node.uuid } : {}),
    };
    // The node that should have it, or has it, is gone silent: nothing will happen until it is
    // back or the dataset is moved off it by force.
    const lost = d.deleted ? undefined : [d.primary, mounted?.node.uuid].find((n) => n !== undefined && reach?.unreachable.has(n));
    if (lost !== undefined && reach) {
      rows.push({ ...base, phase: 'unreachable', reason: unreachableReason(lost, reach.timeoutSeconds) });
      continue;
    }
    const progress = ix.progress.get(d.datasetId) ?? [];
    const chosen = progress.find((x) => x.p.phase === 'error')
      ?? progress.find((x) => x.node === d.primary && x.p.phase !== 'converged')
      ?? progress.find((x) => x.node !== d.primary && x.p.phase !== 'converged');
    if (chosen) {
      rows.push(fromProgress(base, chosen.p));
      continue;
    }
    const desiredNode = own(cluster.nodes, d.primary);
    if (d.deleted) {
      // Whoever has it mounted lets go first; the configured primary is the one that destroys it.
      const reason = mounted && mounted.node.uuid !== d.primary
        ? `waiting for node ${shortId(mounted.node.uuid)} to release it, then node ${shortId(d.primary)} destroys it`
        : `waiting for node ${shortId(d.primary)} to destroy it`;
      rows.push({ ...base, phase: 'deleting', reason });
    } else if (mounted && mounted.node.uuid === d.primary) {
      rows.push({ ...base, phase: 'converged', reason: `mounted at ${mounted.path} on node ${shortId(d.primary)}` });
    } else if (!desiredNode || !desiredNode.connected) {
      rows.push({ ...base, phase: 'pending', reason: `node ${shortId(d.primary)} is not connected` });
    } else {
      rows.push({ ...base, phase: 'pending', reason: `waiting for node ${shortId(d.primary)}'s agent` });
    }
  }
  // A node that holds a dataset the configuration has no row for keeps it and says so (the guard
  // in front of its planner): show that, or the datum would be invisible until someone adopts it.
  for (const [id, list] of ix.progress) {
    if (deployment.datasets[id]) continue;
    const e = list.find((x) => x.p.phase === 'error');
    if (!e) continue;
    const mounted = ix.mounted.get(id);
    rows.push(fromProgress({ datasetId: id as DatasetId, desiredNode: e.node, ...(mounted ? { actualNode: mounted.node.uuid } : {}) }, e.p));
  }
  return rows.sort((a, b) => a.datasetId.localeCompare(b.datasetId));
}

export interface PhaseMemo {
  readonly phase: Phase;
  readonly since: number;
}

/**
 * Give every row a `since`: the agent's when it reported one, else when we first saw this phase
 * for this dataset (kept in `memo` across calls). Returns the next memo; rows absent are forgotten.
 */
export function stampSince(
  rows: readonly ConvergenceRow[],
  memo: ReadonlyMap<string, PhaseMemo>,
  nowMs: number,
): { rows: (ConvergenceRow & { since: number })[]; memo: Map<string, PhaseMemo> } {
  const next = new Map<string, PhaseMemo>();
  const stamped = rows.map((r) => {
    const prev = memo.get(r.datasetId);
    const since = r.since ?? (prev && prev.phase === r.phase ? prev.since : nowMs);
    next.set(r.datasetId, { phase: r.phase, since });
    return { ...r, since };
  });
  return { rows: stamped, memo: next };
}
