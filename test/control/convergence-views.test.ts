// The configuration and convergence views (and the set of configured primaries) are kept from the ids each commit touched; after any
// sequence of commits, agents' reports, reachability changes and wholesale replacements they show
// exactly what computing them from scratch shows (fast-check).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { ClusterState, NodeState } from '../../src/model/cluster-state.js';
import type { Dataset } from '../../src/model/configuration.js';
import { convergenceRows, stampRow, type Reachability } from '../../src/model/convergence.js';
import { sortedById } from '../../src/model/id-map.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { convergenceToApi, datasetToApi } from '../../src/protocol/api-json.js';
import { Primaries } from '../../src/roles/control/primaries.js';
import { Views } from '../../src/roles/control/views.js';
import { MemoryStore } from '../../src/store/memory.js';

const NOW = 1_700_000_000_000;
const id = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const node = (n: number): NodeId => `aaaaaaaa-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as NodeId;

type Op =
  | { kind: 'put'; key: number; node: number; deleted: boolean }
  | { kind: 'report'; node: number; mounted: number[]; failing: number[] }
  | { kind: 'reach'; unreachable: number[] }
  | { kind: 'seen'; node: number }
  | { kind: 'connected'; node: number; connected: boolean }
  | { kind: 'forget'; node: number }
  | { kind: 'replace'; keep: number[] };

const key = fc.integer({ min: 0, max: 11 });
const nodeKey = fc.integer({ min: 0, max: 2 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('put' as const), key, node: nodeKey, deleted: fc.boolean() }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('report' as const), node: nodeKey, mounted: fc.array(key, { maxLength: 3 }), failing: fc.array(key, { maxLength: 2 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('reach' as const), unreachable: fc.array(nodeKey, { maxLength: 2 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('seen' as const), node: nodeKey }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('connected' as const), node: nodeKey, connected: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('forget' as const), node: nodeKey }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('replace' as const), keep: fc.array(key, { maxLength: 6 }) }), weight: 1 },
);

function nodeState(n: number, mounted: number[], failing: number[]): NodeState {
  return {
    uuid: node(n), host: '10.0.0.1', era: 'e', lastSeen: 0, connected: true,
    report: {
      manifestations: mounted.map((k) => ({ datasetId: id(k) as DatasetId, path: `/flocker/${id(k)}`, maximumSize: null })),
      nonManifest: [],
      progress: failing.map((k) => ({ datasetId: id(k) as DatasetId, phase: 'error' as const, reason: 'it failed', since: 5 })),
    },
  };
}

test('views kept from touched ids equal views computed from scratch', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 25 }), async (bursts) => {
    const store = new MemoryStore();
    const views = new Views(store);
    const primaries = new Primaries(store);
    let cluster: ClusterState = { nodes: {} };
    let reach: Reachability | undefined;
    for (const burst of bursts) {
      for (const o of burst) {
        if (o.kind === 'put') {
          const d: Dataset = { datasetId: id(o.key) as DatasetId, primary: node(o.node), deleted: o.deleted, maximumSize: null, metadata: { name: `n${o.key}` } };
          assert.ok(await store.commit(store.generation, store.generation + 1, { datasets: new Map([[d.datasetId, d]]), leases: new Map() }));
        } else if (o.kind === 'report') {
          cluster = { nodes: { ...cluster.nodes, [node(o.node)]: nodeState(o.node, o.mounted, o.failing) } };
        } else if (o.kind === 'seen' || o.kind === 'connected') {
          // The same report object, as the node table keeps it when only lastSeen or connected change.
          const old = cluster.nodes[node(o.node)];
          if (old) cluster = { nodes: { ...cluster.nodes, [old.uuid]: { ...old, lastSeen: old.lastSeen + 1, ...(o.kind === 'connected' ? { connected: o.connected } : {}) } } };
        } else if (o.kind === 'forget') {
          const { [node(o.node)]: _, ...rest } = cluster.nodes;
          cluster = { nodes: rest };
        } else if (o.kind === 'reach') {
          reach = { unreachable: new Set(o.unreachable.map(node)), timeoutSeconds: 30 };
        } else {
          const kept = store.deployment.datasets.filter((_, k) => o.keep.some((n) => id(n) === k));
          await store.replaceAll({ identity: store.identity, generation: store.generation + 1, deployment: { ...store.deployment, datasets: kept } });
        }
      }
      const d = store.deployment;
      views.recomputeConvergence(d, cluster, NOW, reach);
      assert.is(views.convergenceJson, JSON.stringify(convergenceRows(d, cluster, reach).map((r) => convergenceToApi(stampRow(r, undefined, NOW)))));
      const phases = new Map<string, number>();
      for (const r of convergenceRows(d, cluster, reach)) phases.set(r.phase, (phases.get(r.phase) ?? 0) + 1);
      assert.equal(new Map([...views.convergencePhases()].sort()), new Map([...phases].sort()));
      assert.is(views.configuration.json(d.datasets), JSON.stringify(sortedById(d.datasets).map(datasetToApi)));
      assert.equal(new Set(primaries.current()), new Set([...d.datasets.values()].map((x) => x.primary)));
    }
  }), { numRuns: 200 });
});

test.run();
