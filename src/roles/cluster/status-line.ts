// cluster up's text log: one status line a person reads at a glance (the change lines come from
// the one snapshot differ, client/history.ts).
import { describeConvergenceTimes, type ConvergenceTimes } from '../../protocol/convergence-times.js';
import type { ClusterSnapshot } from '../../protocol/events.js';

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
