// Explainable convergence: join the desired configuration with what the agents report, one row
// per dataset, saying what the cluster is doing about it and why. Pure; the clock-dependent
// `since` memo is kept by the caller (stampSince).
import type { Dataset, Deployment } from './configuration.js';
import type { ClusterState, DatasetProgress, NodeState, Phase, TransferProgress } from './cluster-state.js';
import { shortId, type DatasetId, type NodeId } from './ids.js';
import { own } from './own.js';
import { lowerBound } from './sorted.js';

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
export interface ReportIndex {
  /** The first node, in uuid order, that reports each dataset mounted. */
  readonly mounted: Map<string, { node: NodeState; path: string }>;
  /** Progress from connected agents only, in node uuid order: stale progress describes nothing happening now. */
  readonly progress: Map<string, { node: NodeId; p: DatasetProgress }[]>;
  /** Every node that reports each dataset mounted, in uuid order (`mounted` is the first). */
  readonly mountedBy: Map<string, { node: NodeState; path: string }[]>;
  /** How many times the reports name each dataset: those some node reports in any way. */
  readonly named: Map<string, number>;
}

/** Code-unit order: ids are ASCII, and localeCompare costs seconds over 100,000 of them. */
export const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function indexReports(cluster: ClusterState): ReportIndex {
  const ix: ReportIndex = { mounted: new Map(), progress: new Map(), mountedBy: new Map(), named: new Map() };
  for (const n of Object.values(cluster.nodes)) indexNode(ix, n, 1);
  return ix;
}

/**
 * Takes node `before`'s report out of the index and puts `after`'s in, in place: what one agent's
 * new report, or its (dis)connecting, costs. Either is absent for a node that joins or leaves.
 */
export function reindexNode(ix: ReportIndex, before: NodeState | undefined, after: NodeState | undefined): void {
  if (before) indexNode(ix, before, -1);
  if (after) indexNode(ix, after, 1);
}

function listAdd<T>(m: Map<string, T[]>, id: string, x: T, uuid: string, of: (x: T) => string): void {
  const list = m.get(id);
  if (!list) m.set(id, [x]);
  // After that node's own entries, before the next node's.
  else list.splice(lowerBound(list, (y) => of(y) <= uuid), 0, x);
}

function listRemove<T>(m: Map<string, T[]>, id: string, uuid: string, of: (x: T) => string): void {
  const list = m.get(id);
  if (!list) return;
  const rest = list.filter((x) => of(x) !== uuid);
  if (rest.length === 0) m.delete(id);
  else m.set(id, rest);
}

function indexNode(ix: ReportIndex, n: NodeState, sign: 1 | -1): void {
  const r = n.report;
  if (!r) return;
  const name = (id: string): void => {
    const count = (ix.named.get(id) ?? 0) + sign;
    if (count > 0) ix.named.set(id, count);
    else ix.named.delete(id);
  };
  const mountedNode = (x: { node: NodeState }): string => x.node.uuid;
  const progressNode = (x: { node: NodeId }): string => x.node;
  for (const m of r.manifestations) {
    if (sign > 0) listAdd(ix.mountedBy, m.datasetId, { node: n, path: m.path }, n.uuid, mountedNode);
    else listRemove(ix.mountedBy, m.datasetId, n.uuid, mountedNode);
    const first = ix.mountedBy.get(m.datasetId)?.[0];
    if (first) ix.mounted.set(m.datasetId, first);
    else ix.mounted.delete(m.datasetId);
    name(m.datasetId);
  }
  for (const m of r.nonManifest) name(m.datasetId);
  for (const p of r.progress) {
    name(p.datasetId);
    if (!n.connected) continue;
    if (sign > 0) listAdd(ix.progress, p.datasetId, { node: n.uuid, p }, n.uuid, progressNode);
    else listRemove(ix.progress, p.datasetId, n.uuid, progressNode);
  }
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

/**
 * The row of one configured dataset, or undefined for a deleted one nobody reports any more.
 * Depends only on the dataset, the report index, the cluster it was built from and `reach`, so a
 * caller may keep a row until one of those changes.
 */
export function convergenceRow(d: Dataset, ix: ReportIndex, cluster: ClusterState, reach?: Reachability): ConvergenceRow | undefined {
  if (d.deleted && !ix.named.has(d.datasetId)) return undefined;
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
  if (lost !== undefined && reach) return { ...base, phase: 'unreachable', reason: unreachableReason(lost, reach.timeoutSeconds) };
  const progress = ix.progress.get(d.datasetId) ?? [];
  const chosen = progress.find((x) => x.p.phase === 'error')
    ?? progress.find((x) => x.node === d.primary && x.p.phase !== 'converged')
    ?? progress.find((x) => x.node !== d.primary && x.p.phase !== 'converged');
  if (chosen) return fromProgress(base, chosen.p);
  const desiredNode = own(cluster.nodes, d.primary);
  if (d.deleted) {
    // Whoever has it mounted lets go first; the configured primary is the one that destroys it.
    const reason = mounted && mounted.node.uuid !== d.primary
      ? `waiting for node ${shortId(mounted.node.uuid)} to release it, then node ${shortId(d.primary)} destroys it`
      : `waiting for node ${shortId(d.primary)} to destroy it`;
    return { ...base, phase: 'deleting', reason };
  }
  if (mounted && mounted.node.uuid === d.primary) {
    return { ...base, phase: 'converged', reason: `mounted at ${mounted.path} on node ${shortId(d.primary)}` };
  }
  if (!desiredNode || !desiredNode.connected) return { ...base, phase: 'pending', reason: `node ${shortId(d.primary)} is not connected` };
  return { ...base, phase: 'pending', reason: `waiting for node ${shortId(d.primary)}'s agent` };
}

/**
 * A node that holds a dataset the configuration has no row for keeps it and says so (the guard
 * in front of its planner): show that, or the datum would be invisible until someone adopts it.
 */
export function unconfiguredRows(deployment: Deployment, ix: ReportIndex): ConvergenceRow[] {
  const rows: ConvergenceRow[] = [];
  for (const id of ix.progress.keys()) {
    const row = unconfiguredRow(id, deployment, ix);
    if (row) rows.push(row);
  }
  return rows;
}

/** The row of dataset `id` when the configuration has none: shown while a node reports an error of it. */
export function unconfiguredRow(id: string, deployment: Deployment, ix: ReportIndex): ConvergenceRow | undefined {
  if (deployment.datasets.has(id)) return undefined;
  const e = ix.progress.get(id)?.find((x) => x.p.phase === 'error');
  if (!e) return undefined;
  const mounted = ix.mounted.get(id);
  return fromProgress({ datasetId: id as DatasetId, desiredNode: e.node, ...(mounted ? { actualNode: mounted.node.uuid } : {}) }, e.p);
}

export function convergenceRows(deployment: Deployment, cluster: ClusterState, reach?: Reachability): ConvergenceRow[] {
  const ix = indexReports(cluster);
  const rows: ConvergenceRow[] = [];
  for (const d of deployment.datasets.values()) {
    const row = convergenceRow(d, ix, cluster, reach);
    if (row) rows.push(row);
  }
  rows.push(...unconfiguredRows(deployment, ix));
  return rows.sort((a, b) => byId(a.datasetId, b.datasetId));
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
    const row = stampRow(r, memo.get(r.datasetId), nowMs);
    next.set(r.datasetId, { phase: row.phase, since: row.since });
    return row;
  });
  return { rows: stamped, memo: next };
}

/** One row's `since`: the agent's, else `prev`'s while the phase stays the same, else now. */
export function stampRow(r: ConvergenceRow, prev: PhaseMemo | undefined, nowMs: number): ConvergenceRow & { since: number } {
  return { ...r, since: r.since ?? (prev && prev.phase === r.phase ? prev.since : nowMs) };
}
