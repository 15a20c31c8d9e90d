// Control's work on /v1/convergence when the cluster changes, at 100,000 datasets over 100 nodes
// (printed, never asserted): the view is kept row by row, and each kind of change should cost the
// rows it touches, not all of them.
//   - building every row from nothing (control start-up)
//   - one agent's new report (one dataset's progress changed)
//   - a node disconnecting (its 1,000 datasets' rows)
//   - a node becoming unreachable
//
//   BENCH_CONV_DATASETS=100000 BENCH_CONV_NODES=100 node --import tsx test/bench/convergence-view.ts
import type { ClusterState, NodeReport, NodeState } from '../../src/model/cluster-state.js';
import type { Dataset, Deployment } from '../../src/model/configuration.js';
import type { Reachability } from '../../src/model/convergence.js';
import { idMap } from '../../src/model/id-map.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { ConvergenceView } from '../../src/roles/control/convergence-view.js';

const N = Number(process.env.BENCH_CONV_DATASETS ?? 100_000);
const NODES = Number(process.env.BENCH_CONV_NODES ?? 100);
const ROUNDS = 10;

const id = (n: number): DatasetId => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as DatasetId;
const node = (n: number): NodeId => `aaaaaaaa-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as NodeId;

const datasets: Dataset[] = Array.from({ length: N }, (_, i) => ({ datasetId: id(i), primary: node(i % NODES), deleted: false, maximumSize: null, metadata: {} }));
const deployment: Deployment = { datasets: idMap(datasets.map((d) => [d.datasetId, d] as const)), leases: idMap([]) };

function report(n: number, creating: number[]): NodeReport {
  return {
    manifestations: datasets.filter((_, i) => i % NODES === n).map((d) => ({ datasetId: d.datasetId, path: `/flocker/${d.datasetId}`, maximumSize: null })),
    nonManifest: [],
    progress: creating.map((k) => ({ datasetId: id(k), phase: 'creating' as const, reason: 'making the volume', since: 5 })),
  };
}

function time(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
}

const nodes: Record<string, NodeState> = {};
for (let n = 0; n < NODES; n++) nodes[node(n)] = { uuid: node(n), host: '10.0.0.1', era: 'e', lastSeen: 0, connected: true, report: report(n, []) };
let cluster: ClusterState = { nodes };
let reach: Reachability = { unreachable: new Set(), timeoutSeconds: 30 };
let clock = 1;
const view = new ConvergenceView();
const first = time(() => view.recompute(deployment, cluster, clock++, reach));
console.log(`convergence view, ${N} datasets over ${NODES} nodes: every row from nothing ${first.toFixed(0)} ms`);

const reports: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const k = node(3);
  cluster = { nodes: { ...cluster.nodes, [k]: { ...cluster.nodes[k]!, report: report(3, [3 + NODES * i]) } } };
  reports.push(time(() => view.recompute(deployment, cluster, clock++, reach)));
}
console.log(`  one agent's new report (one dataset creating): ${summary(reports)}`);

const disconnects: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const k = node((5 + i) % NODES);
  cluster = { nodes: { ...cluster.nodes, [k]: { ...cluster.nodes[k]!, connected: false } } };
  disconnects.push(time(() => view.recompute(deployment, cluster, clock++, reach)));
}
console.log(`  a node disconnecting (${N / NODES} datasets on it): ${summary(disconnects)}`);

const unreachable: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  reach = { unreachable: new Set([...reach.unreachable, node((20 + i) % NODES)]), timeoutSeconds: 30 };
  unreachable.push(time(() => view.recompute(deployment, cluster, clock++, reach)));
}
console.log(`  a node becoming unreachable: ${summary(unreachable)}`);
