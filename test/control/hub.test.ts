import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlHub, type Section } from '../../src/roles/control/hub.js';
import { createDataset } from '../../src/model/deployment.js';
import type { ConfigurationStore } from '../../src/store/store.js';
import type { Deployment } from '../../src/model/configuration.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';

const N = '11111111-1111-4111-8111-111111111111' as NodeId;
const id = (i: number) => `dddddddd-0000-4000-8000-${String(i).padStart(12, '0')}` as DatasetId;

function memoryStore(fail = false): ConfigurationStore & { saves: Deployment[] } {
  const saves: Deployment[] = [];
  return {
    path: ':memory:', saves,
    load: () => ({ datasets: {}, leases: {} }),
    save(d) { if (fail) throw new Error('disk full'); saves.push(d); return true; },
    close() {},
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a burst of commits is one save and one announcement; views show only committed state', async () => {
  const store = memoryStore();
  const hub = new ControlHub({ store });
  const changes: ReadonlySet<Section>[] = [];
  hub.on('change', (s) => changes.push(new Set(s)));
  const commits: Promise<void>[] = [];
  for (let i = 0; i < 10; i++) {
    const r = createDataset(hub.deployment, { datasetId: id(i), primary: N, maximumSize: null, metadata: {} });
    assert.ok(r.ok);
    if (r.ok) commits.push(hub.commit(r.value.deployment));
  }
  assert.is(hub.configurationJson(), '[]', 'not visible before commit');
  await Promise.all(commits);
  assert.is(store.saves.length, 1);
  assert.is((JSON.parse(hub.configurationJson()) as unknown[]).length, 10);
  await tick();
  await tick();
  assert.is(changes.length, 1);
  assert.equal([...changes[0]!].sort(), ['configuration', 'convergence']);
});

test('a failed save rejects the batch and forgets it', async () => {
  const hub = new ControlHub({ store: memoryStore(true) });
  const r = createDataset(hub.deployment, { datasetId: id(1), primary: N, maximumSize: null, metadata: {} });
  assert.ok(r.ok);
  if (!r.ok) return;
  let failed = false;
  await hub.commit(r.value.deployment).catch(() => { failed = true; });
  assert.ok(failed);
  assert.equal(hub.deployment.datasets, {});
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

test.run();
