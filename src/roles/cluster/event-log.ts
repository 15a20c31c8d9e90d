// The live text log `cluster up --no-dashboard` (or without a terminal) prints: one line per
// meaningful change in the event stream, found by comparing each event with what came before.
import type { ApiConvergenceRow, ApiDatasetConfig, ApiNodeLive } from '../../protocol/api-json.js';
import { describeConvergenceTimes, type ConvergenceTimes } from '../../protocol/convergence-times.js';
import { applyEvent, type ClusterEvent, type ClusterSnapshot } from '../../protocol/events.js';

const short = (id: string | undefined): string => (id ?? '?').slice(0, 8);

function datasetName(d: ApiDatasetConfig): string {
  const name = d.metadata['name'];
  return name ? `${short(d.dataset_id)} (${name})` : short(d.dataset_id);
}

function nodeLines(before: readonly ApiNodeLive[], after: readonly ApiNodeLive[]): string[] {
  const old = new Map(before.map((n) => [n.uuid, n]));
  const out: string[] = [];
  for (const n of after) {
    const o = old.get(n.uuid);
    if (!o) out.push(`node ${short(n.uuid)} joined (${n.host})${n.connected ? '' : ', not connected'}`);
    else if (o.connected !== n.connected) out.push(`node ${short(n.uuid)} ${n.connected ? 'connected' : 'disconnected'}`);
  }
  for (const o of before) if (!after.some((n) => n.uuid === o.uuid)) out.push(`node ${short(o.uuid)} left`);
  return out;
}

function configurationLines(before: readonly ApiDatasetConfig[], after: readonly ApiDatasetConfig[]): string[] {
  const old = new Map(before.map((d) => [d.dataset_id, d]));
  const out: string[] = [];
  for (const d of after) {
    const o = old.get(d.dataset_id);
    if (!o) out.push(`dataset ${datasetName(d)} created on node ${short(d.primary)}`);
    else if (!o.deleted && d.deleted) out.push(`dataset ${datasetName(d)} deleted`);
    else if (o.primary !== d.primary) out.push(`dataset ${datasetName(d)} moving from node ${short(o.primary)} to ${short(d.primary)}`);
  }
  return out;
}

function convergenceLines(before: readonly ApiConvergenceRow[], after: readonly ApiConvergenceRow[]): string[] {
  const old = new Map(before.map((r) => [r.dataset_id, r]));
  const out: string[] = [];
  for (const r of after) {
    const o = old.get(r.dataset_id);
    if (o && o.phase === r.phase && o.reason === r.reason) continue;
    const name = r.name ? `${short(r.dataset_id)} (${r.name})` : short(r.dataset_id);
    out.push(`dataset ${name}: ${r.phase} — ${r.reason}${r.last_error ? ` [${r.last_error}]` : ''}`);
  }
  return out;
}

/**
 * What a person watching wants at a glance, without Prometheus: "status: 3/3 agents connected ·
 * 5 datasets: 4 converged, 1 moving-in · p50 converge 35 ms (last 12)".
 */
export function statusLine(s: ClusterSnapshot, times: ConvergenceTimes): string {
  const connected = s.nodes.filter((n) => n.connected).length;
  const byPhase = new Map<string, number>();
  for (const r of s.convergence) byPhase.set(r.phase, (byPhase.get(r.phase) ?? 0) + 1);
  const phases = [...byPhase].sort((a, b) => (a[0] === 'converged' ? -1 : b[0] === 'converged' ? 1 : a[0].localeCompare(b[0])))
    .map(([p, n]) => `${n} ${p}`).join(', ');
  const p50 = describeConvergenceTimes(times);
  return `status: ${connected}/${s.nodes.length} agents connected · ${s.convergence.length} datasets${phases ? `: ${phases}` : ''}${p50 ? ` · ${p50}` : ''}`;
}

/** Lines describing `e`, given the snapshot before it; returns the snapshot after it too. */
export function describeEvent(before: ClusterSnapshot | undefined, e: ClusterEvent): { lines: string[]; after: ClusterSnapshot | undefined } {
  const after = applyEvent(before, e);
  if (e.type === 'snapshot') {
    const d = e.data;
    const converged = d.convergence.filter((r) => r.phase === 'converged').length;
    const lines = [`${d.nodes.length} node(s), ${d.configuration.filter((x) => !x.deleted).length} dataset(s), ${converged}/${d.convergence.length} converged`];
    // Only what changed since a previous snapshot (after a reconnect), never the whole table again.
    if (before) lines.push(...nodeLines(before.nodes, d.nodes), ...configurationLines(before.configuration, d.configuration), ...convergenceLines(before.convergence, d.convergence));
    return { lines, after };
  }
  if (!before) return { lines: [], after };
  switch (e.type) {
    case 'nodes': return { lines: nodeLines(before.nodes, e.data), after };
    case 'configuration': return { lines: configurationLines(before.configuration, e.data.configuration), after };
    case 'convergence': return { lines: convergenceLines(before.convergence, e.data), after };
    case 'leases': {
      const had = new Set(before.leases.map((l) => l.dataset_id));
      const has = new Set(e.data.map((l) => l.dataset_id));
      const lines = [
        ...e.data.filter((l) => !had.has(l.dataset_id)).map((l) => `lease on dataset ${short(l.dataset_id)} taken by node ${short(l.node_uuid)}`),
        ...before.leases.filter((l) => !has.has(l.dataset_id)).map((l) => `lease on dataset ${short(l.dataset_id)} released`),
      ];
      return { lines, after };
    }
    case 'state': return { lines: [], after }; // convergence rows already say it, with a reason
  }
}
