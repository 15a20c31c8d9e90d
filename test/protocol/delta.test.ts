// Deltas applied in order rebuild exactly what a snapshot would carry: random sequences of
// changes to datasets, leases and nodes (fast-check), diffed step by step the way the control
// service pushes them (comparing only the ids the store said were touched, and comparing all),
// applied step by step the way an agent does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { deploymentToJson, EMPTY_DEPLOYMENT, type Dataset, type Lease } from '../../src/model/configuration.js';
import type { NodeState } from '../../src/model/cluster-state.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { applyDelta, diffView, type AgentView, type RecordDelta, type ViewDelta } from '../../src/protocol/delta.js';

const id = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const EMPTY: AgentView = { configuration: EMPTY_DEPLOYMENT, cluster: { nodes: {} } };

type Op =
  | { kind: 'put-dataset'; key: number; node: number; size: number | null; deleted: boolean; name: string }
  | { kind: 'drop-dataset'; key: number }
  | { kind: 'put-lease'; key: number; node: number; expires: number | null }
  | { kind: 'drop-lease'; key: number }
  | { kind: 'put-node'; key: number; connected: boolean; mounted: number[] }
  | { kind: 'seen'; key: number; at: number }
  | { kind: 'drop-node'; key: number }
  | { kind: 'copy-dataset'; key: number };

// Few keys, so changes hit the same records again and again.
const key = fc.integer({ min: 0, max: 7 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put-dataset' as const), key, node: key, size: fc.option(fc.integer({ min: 1, max: 1e12 })), deleted: fc.boolean(), name: fc.string({ maxLength: 6 }) }),
  fc.record({ kind: fc.constant('drop-dataset' as const), key }),
  fc.record({ kind: fc.constant('put-lease' as const), key, node: key, expires: fc.option(fc.integer({ min: 0, max: 1e13 })) }),
  fc.record({ kind: fc.constant('drop-lease' as const), key }),
  fc.record({ kind: fc.constant('put-node' as const), key, connected: fc.boolean(), mounted: fc.array(key, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('seen' as const), key, at: fc.integer({ min: 0, max: 1e13 }) }),
  fc.record({ kind: fc.constant('drop-node' as const), key }),
  // An equal record under a new object: sent again, which must still rebuild the same view.
  fc.record({ kind: fc.constant('copy-dataset' as const), key }),
);

function without<T>(r: Readonly<Record<string, T>>, k: string): Record<string, T> {
  const out = { ...r };
  delete out[k];
  return out;
}

/** One change as the hub makes it: the touched record replaced, everything else kept. */
function step(v: AgentView, o: Op): AgentView {
  const { datasets, leases } = v.configuration;
  const nodes = v.cluster.nodes;
  const k = id(o.key);
  switch (o.kind) {
    case 'put-dataset': {
      const d: Dataset = { datasetId: k as DatasetId, primary: id(o.node) as NodeId, deleted: o.deleted, maximumSize: o.size, metadata: { name: o.name } };
      return { ...v, configuration: { leases, datasets: datasets.set(k, d) } };
    }
    case 'drop-dataset':
      return { ...v, configuration: { leases, datasets: datasets.delete(k) } };
    case 'copy-dataset':
      return datasets.has(k) ? { ...v, configuration: { leases, datasets: datasets.set(k, { ...datasets.get(k)! }) } } : v;
    case 'put-lease': {
      const l: Lease = { datasetId: k as DatasetId, nodeId: id(o.node) as NodeId, expiresAt: o.expires };
      return { ...v, configuration: { datasets, leases: leases.set(k, l) } };
    }
    case 'drop-lease':
      return { ...v, configuration: { datasets, leases: leases.delete(k) } };
    case 'put-node': {
      const n: NodeState = {
        uuid: k as NodeId, host: '10.0.0.1', era: 'e', lastSeen: 1, connected: o.connected,
        report: { manifestations: o.mounted.map((m) => ({ datasetId: id(m) as DatasetId, path: `/f/${m}`, maximumSize: null })), nonManifest: [], progress: [] },
      };
      return { ...v, cluster: { nodes: { ...nodes, [k]: n } } };
    }
    case 'seen':
      return nodes[k] ? { ...v, cluster: { nodes: { ...nodes, [k]: { ...nodes[k]!, lastSeen: o.at } } } } : v;
    case 'drop-node':
      return { ...v, cluster: { nodes: without(nodes, k) } };
  }
}

/** What agents read: everything but lastSeen, which deltas deliberately leave out. */
function forAgents(v: AgentView): unknown {
  const nodes: Record<string, unknown> = {};
  for (const [k, n] of Object.entries(v.cluster.nodes)) nodes[k] = { ...n, lastSeen: 0 };
  return { configuration: deploymentToJson(v.configuration), nodes };
}

/** A delta with its removals in one order (which ids it removes matters, not in which order). */
function sortedRemoves(d: ViewDelta | undefined): unknown {
  if (!d) return d;
  const sorted = <T>(r: RecordDelta<T> | undefined) => (r?.remove ? { ...r, remove: [...r.remove].sort() } : r);
  return { datasets: sorted(d.datasets), leases: sorted(d.leases), nodes: sorted(d.nodes) };
}

test('deltas applied in order rebuild exactly the full configuration and cluster state', () => {
  fc.assert(fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { maxLength: 40 }), (pushes) => {
    let control = EMPTY;
    let agent = EMPTY;
    let pushedView = EMPTY;
    let touched = { datasetIds: new Set<string>(), leaseIds: new Set<string>() };
    for (const burst of pushes) {
      // A burst of changes coalesced into one push, as the hub does within an event-loop turn.
      for (const o of burst) {
        control = step(control, o);
        if (o.kind.endsWith('-dataset')) touched.datasetIds.add(id(o.key));
        if (o.kind.endsWith('-lease')) touched.leaseIds.add(id(o.key));
      }
      const d = diffView(pushedView, control, touched);
      assert.equal(sortedRemoves(d), sortedRemoves(diffView(pushedView, control)), 'the touched ids find what comparing everything finds');
      if (d === undefined) {
        assert.equal(forAgents(control), forAgents(pushedView));
        continue;
      }
      // The delta travels as JSON.
      agent = applyDelta(agent, JSON.parse(JSON.stringify(d)) as typeof d);
      pushedView = control;
      touched = { datasetIds: new Set(), leaseIds: new Set() };
      assert.equal(deploymentToJson(agent.configuration), deploymentToJson(control.configuration));
      assert.equal(forAgents(agent), forAgents(control));
    }
  }), { numRuns: 500 });
});

test('a delta carries only what changed', () => {
  const a = step(step(EMPTY, { kind: 'put-dataset', key: 1, node: 1, size: null, deleted: false, name: 'a' }), { kind: 'put-dataset', key: 2, node: 1, size: null, deleted: false, name: 'b' });
  const b = step(a, { kind: 'drop-dataset', key: 1 });
  assert.equal(diffView(a, b), { datasets: { remove: [id(1)] } });
  const c = step(b, { kind: 'put-lease', key: 2, node: 1, expires: null });
  assert.equal(Object.keys(diffView(b, c) ?? {}), ['leases']);
  assert.is(diffView(c, c), undefined);
});

test('a node whose only change is lastSeen is not pushed', () => {
  const a = step(EMPTY, { kind: 'put-node', key: 3, connected: true, mounted: [1] });
  assert.is(diffView(a, step(a, { kind: 'seen', key: 3, at: 99 })), undefined);
  assert.ok(diffView(a, step(a, { kind: 'put-node', key: 3, connected: false, mounted: [1] }))?.nodes?.set);
});

test.run();
