import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlHub, type Section } from '../../src/roles/control/hub.js';
import { createEdit } from '../../src/roles/control/edits.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';

const N = '11111111-1111-4111-8111-111111111111' as NodeId;
const id = (i: number) => `dddddddd-0000-4000-8000-${String(i).padStart(12, '0')}` as DatasetId;

const tick = () => new Promise((r) => setImmediate(r));
const create = (i: number) => createEdit({ datasetId: id(i), primary: N, maximumSize: null, metadata: {} });

test('a burst of writes is one commit and one announcement; views show only committed state', async () => {
  const store = new MemoryStore();
  const hub = new ControlHub({ store });
  const changes: ReadonlySet<Section>[] = [];
  hub.on('change', (s) => changes.push(new Set(s)));
  const writes = Array.from({ length: 10 }, (_, i) => hub.write(create(i)));
  assert.is(hub.configurationJson(), '[]', 'not visible before commit');
  const results = await Promise.all(writes);
  assert.ok(results.every((r) => r.ok));
  assert.is(store.commits, 1);
  assert.is(store.generation, 10, 'one generation per change');
  assert.is((JSON.parse(hub.configurationJson()) as unknown[]).length, 10);
  await tick();
  await tick();
  assert.is(changes.length, 1);
  assert.equal([...changes[0]!].sort(), ['configuration', 'convergence']);
});

test('a failed commit rejects the batch and forgets it', async () => {
  const store = new MemoryStore();
  store.failWith = new Error('disk full');
  const hub = new ControlHub({ store });
  let failed = false;
  await hub.write(create(1)).catch(() => { failed = true; });
  assert.ok(failed);
  assert.is(hub.deployment.datasets.size, 0);
  assert.is(store.generation, 0);
});

test('of two writes holding one tag, exactly one wins', async () => {
  const hub = new ControlHub();
  const tag = hub.tag();
  const [a, b] = await Promise.all([hub.write(create(1), [tag]), hub.write(create(2), [tag])]);
  assert.equal([a.ok, b.ok], [true, false]);
  assert.equal(b.ok ? undefined : b.error.kind, 'tag-mismatch');
  assert.equal([...hub.deployment.datasets.keys()], [id(1)]);
  assert.is.not(hub.tag(), tag);
});

test('the hub names the store and its generation for what agents are sent', async () => {
  const hub = new ControlHub();
  await hub.write(create(1));
  assert.equal(hub.storeStamp, { identity: hub.store.identity, generation: 1 });
});

test('serialised sections are cached until a change', async () => {
  const hub = new ControlHub();
  hub.agentHello(N, 'era', '10.0.0.1');
  hub.agentReport(N, { manifestations: [{ datasetId: id(1), path: '/p', maximumSize: null }], nonManifest: [], progress: [] });
  const a = hub.stateJson();
  assert.ok(a === hub.stateJson(), 'same string object, not re-serialised');
  hub.agentReport(N, { manifestations: [], nonManifest: [], progress: [] });
  assert.is(hub.stateJson(), '[]');
  assert.equal(JSON.parse(hub.nodesJson()), [{ uuid: N, host: '10.0.0.1' }]);
});

test('node timeout, new era, disconnect', async () => {
  let now = 1000;
  const hub = new ControlHub({ now: () => now, nodeTimeoutMs: 100 });
  hub.agentHello(N, 'e1', '10.0.0.1');
  hub.agentReport(N, { manifestations: [], nonManifest: [], progress: [] });
  hub.agentHello(N, 'e2', '10.0.0.1');
  assert.is(hub.cluster.nodes[N]?.report, null, 'new era discards the old report');
  assert.is(hub.nodeByEra('e1'), undefined);
  assert.is(hub.nodeByEra('e2'), N);
  hub.agentDisconnected(N);
  assert.is(hub.cluster.nodes[N]?.connected, false);
  now += 50;
  assert.equal(hub.expireNodes(), []);
  now += 100;
  assert.equal(hub.expireNodes(), [N]);
  assert.equal(hub.cluster.nodes, {});
  assert.is(hub.nodeByEra('e2'), N, 'era mapping stays');
});

test('the event stream\'s snapshot holds every section as its own view serialises it (state sorted by dataset_id)', async () => {
  const hub = new ControlHub();
  await Promise.all([3, 1, 2].map((i) => hub.write(create(i))));
  hub.agentHello(N, 'era', '10.0.0.1');
  hub.agentReport(N, { manifestations: [2, 1].map((i) => ({ datasetId: id(i), path: `/f/${i}`, maximumSize: null })), nonManifest: [], progress: [] });
  const snap = JSON.parse(hub.snapshotJson()) as Record<string, unknown>;
  assert.equal(Object.keys(snap), ['at', 'configuration', 'tag', 'state', 'nodes', 'leases', 'convergence']);
  assert.equal(snap['configuration'], JSON.parse(hub.configurationJson()));
  assert.is(snap['tag'], hub.tag());
  assert.equal((snap['state'] as { dataset_id: string }[]).map((r) => r.dataset_id), [id(1), id(2)]);
  assert.equal(snap['nodes'], JSON.parse(hub.nodesLiveJson()));
  assert.equal(snap['convergence'], JSON.parse(hub.convergenceJsonText()));
  assert.equal((snap['convergence'] as { dataset_id: string }[]).map((r) => r.dataset_id), [id(1), id(2), id(3)]);
});

test.run();
