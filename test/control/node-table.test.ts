import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeTable } from '../../src/roles/control/node-table.js';
import type { NodeState } from '../../src/model/cluster-state.js';
import type { NodeId } from '../../src/model/ids.js';

const A = '11111111-1111-4111-8111-111111111111' as NodeId;
const B = '22222222-2222-4222-8222-222222222222' as NodeId;

test('only nodes this replica serves expire here; another replica\'s node stays until its record goes', () => {
  let now = 1000;
  const t = new NodeTable(() => now, 100);
  const shared: [string, NodeState | undefined, boolean][] = [];
  t.on('local', (u, n, takeOver) => shared.push([u, n, takeOver]));
  t.hello(A, 'era-a', '10.0.0.1', 4526);
  t.applyRemote(B, { uuid: B, host: '10.0.0.2', era: 'era-b', lastSeen: 0, connected: true, report: null });
  assert.equal(shared.map(([u, n, k]) => [u, n?.transferPort, k]), [[A, 4526, true]], 'own node shared, taking the record over');
  assert.ok(t.serves(A));
  assert.not.ok(t.serves(B));
  assert.is(t.nodeByEra('era-b'), B);
  now += 500;
  assert.equal(t.expire(), [A], 'B is old but not ours to expire');
  assert.equal(Object.keys(t.cluster.nodes), [B]);
  assert.equal(shared.at(-1), [A, undefined, false]);
  t.applyRemote(B, undefined);
  assert.equal(t.cluster.nodes, {});
});

test('an agent that moved to another replica is that replica\'s: no longer served here', () => {
  const t = new NodeTable(() => 0, 100);
  t.hello(A, 'e', 'h');
  t.applyRemote(A, { uuid: A, host: 'h', era: 'e', lastSeen: 0, connected: true, report: null });
  assert.not.ok(t.serves(A));
  assert.equal(t.expire(), []);
});

test.run();
