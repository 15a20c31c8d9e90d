import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { convergenceRows, stampSince } from '../../src/model/convergence.js';
import { deploymentOf, type Deployment } from '../../src/model/configuration.js';
import type { ClusterState, DatasetProgress, NodeState } from '../../src/model/cluster-state.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';

const A = 'aaaaaaaa-0000-4000-8000-000000000001' as NodeId;
const B = 'bbbbbbbb-0000-4000-8000-000000000002' as NodeId;
const D = 'dddddddd-0000-4000-8000-000000000001' as DatasetId;

function config(over: Partial<{ primary: NodeId; deleted: boolean; name: string }> = {}): Deployment {
  return deploymentOf({
    datasets: {
      [D]: { datasetId: D, primary: over.primary ?? A, deleted: over.deleted ?? false, maximumSize: null, metadata: over.name ? { name: over.name } : {} },
    },
  });
}

function node(uuid: NodeId, o: { connected?: boolean; mounted?: boolean; nonManifest?: boolean; progress?: Omit<DatasetProgress, 'datasetId'>[] } = {}): NodeState {
  return {
    uuid, host: '10.0.0.1', era: 'e', lastSeen: 0, connected: o.connected ?? true,
    report: {
      manifestations: o.mounted ? [{ datasetId: D, path: `/flocker/${D}`, maximumSize: null }] : [],
      nonManifest: o.nonManifest ? [{ datasetId: D, maximumSize: null }] : [],
      progress: (o.progress ?? []).map((p) => ({ ...p, datasetId: D })),
    },
  };
}

const cluster = (...nodes: NodeState[]): ClusterState => ({ nodes: Object.fromEntries(nodes.map((n) => [n.uuid, n])) });
const one = (d: Deployment, c: ClusterState) => {
  const rows = convergenceRows(d, c);
  assert.is(rows.length, 1);
  return rows[0]!;
};

test('converged when mounted on the desired node; name from metadata', () => {
  const r = one(config({ name: 'web' }), cluster(node(A, { mounted: true })));
  assert.equal(r, { datasetId: D, name: 'web', desiredNode: A, actualNode: A, phase: 'converged', reason: `mounted at /flocker/${D} on node aaaaaaaa` });
});

test('pending: desired node unknown or disconnected, else waiting for its agent', () => {
  assert.is(one(config(), cluster()).reason, 'node aaaaaaaa is not connected');
  assert.is(one(config(), cluster(node(A, { connected: false }))).reason, 'node aaaaaaaa is not connected');
  const r = one(config(), cluster(node(A)));
  assert.equal([r.phase, r.reason], ['pending', "waiting for node aaaaaaaa's agent"]);
});

test('an error from any connected node wins, with its last error and since', () => {
  const r = one(config(), cluster(
    node(A, { progress: [{ phase: 'attaching', reason: 'attaching', since: 5 }] }),
    node(B, { mounted: true, progress: [{ phase: 'error', reason: 'losetup failed: no free loop device', since: 7, lastError: 'EBUSY' }] }),
  ));
  assert.equal(r, { datasetId: D, desiredNode: A, actualNode: B, phase: 'error', reason: 'losetup failed: no free loop device', since: 7, lastError: 'EBUSY' });
});

test('desired node progress beats another node\'s; another node\'s shows when the desired node has none', () => {
  const c1 = cluster(
    node(A, { progress: [{ phase: 'moving-in', reason: 'waiting for bbbbbbbb to let go', since: 1 }] }),
    node(B, { mounted: true, progress: [{ phase: 'waiting-for-lease', reason: 'waiting for node bbbbbbbb to release its lease', since: 2 }] }),
  );
  assert.is(one(config(), c1).phase, 'moving-in');
  const c2 = cluster(node(A), node(B, { mounted: true, progress: [{ phase: 'waiting-for-lease', reason: 'lease', since: 2 }] }));
  const r = one(config(), c2);
  assert.equal([r.phase, r.actualNode, r.since], ['waiting-for-lease', B, 2]);
  const c3 = cluster(node(A, { progress: [{ phase: 'converged', reason: 'ok', since: 1 }] }), node(B, { mounted: true }));
  assert.equal(one(config(), c3).phase, 'pending', 'a converged report is not progress to show');
});

test('progress from a disconnected node is ignored', () => {
  const r = one(config(), cluster(node(A, { connected: false, progress: [{ phase: 'error', reason: 'old', since: 1 }] })));
  assert.equal([r.phase, r.reason], ['pending', 'node aaaaaaaa is not connected']);
});

test('deleted datasets: deleting while some node reports them, then gone', () => {
  // Reported free by B, but the configured primary A is the node that destroys it.
  const r = one(config({ deleted: true }), cluster(node(B, { nonManifest: true })));
  assert.equal([r.phase, r.reason], ['deleting', 'waiting for node aaaaaaaa to destroy it']);
  const held = one(config({ deleted: true }), cluster(node(B, { mounted: true })));
  assert.equal([held.phase, held.reason], ['deleting', 'waiting for node bbbbbbbb to release it, then node aaaaaaaa destroys it']);
  assert.equal(convergenceRows(config({ deleted: true }), cluster(node(A))), []);
  assert.equal(convergenceRows(config({ deleted: true }), cluster()), []);
});

test('stampSince keeps the first time a phase was seen and resets on a new phase', () => {
  const rows = convergenceRows(config(), cluster(node(A)));
  const a = stampSince(rows, new Map(), 100);
  assert.is(a.rows[0]!.since, 100);
  const b = stampSince(rows, a.memo, 200);
  assert.is(b.rows[0]!.since, 100, 'same phase keeps its since');
  const c = stampSince(convergenceRows(config(), cluster(node(A, { mounted: true }))), b.memo, 300);
  assert.is(c.rows[0]!.since, 300, 'new phase, new since');
  const withProgress = convergenceRows(config(), cluster(node(A, { progress: [{ phase: 'creating', reason: 'x', since: 42 }] })));
  assert.is(stampSince(withProgress, c.memo, 400).rows[0]!.since, 42, "the agent's since wins");
});

test('a dataset whose node is unreachable is shown so, with what --force does', () => {
  const reach = { unreachable: new Set([A]), timeoutSeconds: 30 };
  const rows = convergenceRows(config(), cluster(node(A, { mounted: true, connected: false })), reach);
  assert.is(rows[0]!.phase, 'unreachable');
  assert.match(rows[0]!.reason, /node aaaaaaaa has not reported for over 30 s.*flocker move --force.*fences node aaaaaaaa/);
  // Moved to a live node but still held by the unreachable one: unreachable too.
  assert.is(convergenceRows(config({ primary: B }), cluster(node(A, { mounted: true, connected: false }), node(B)), reach)[0]!.phase, 'unreachable');
  // A deleted dataset is not held up by it in the view.
  assert.is(convergenceRows(config({ deleted: true }), cluster(node(A, { mounted: true, connected: false })), reach)[0]!.phase, 'deleting');
});

test('a dataset held by a node without a configuration row shows as that node reports it', () => {
  const empty: Deployment = deploymentOf({});
  const rows = convergenceRows(empty, cluster(node(A, { mounted: true, progress: [{ phase: 'error', reason: 'has no dataset; run flocker adopt', since: 5 }] })));
  assert.is(rows.length, 1);
  assert.equal({ id: rows[0]!.datasetId, node: rows[0]!.desiredNode, actual: rows[0]!.actualNode, phase: rows[0]!.phase },
    { id: D, node: A, actual: A, phase: 'error' });
  // Nothing reported as an error: nothing shown (a volume merely free in the pool).
  assert.equal(convergenceRows(empty, cluster(node(A, { nonManifest: true }))), []);
});

test.run();
