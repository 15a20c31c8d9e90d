// Several control replicas (real processes) over one real 3-member etcd: any replica answers
// every request the same way, writes through different replicas keep every invariant, node
// state and configuration pushes cross replicas, and etcd faults are survived.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCerts, type CertPair, type TestCerts } from '../support/certs.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { callApi, spawnControl, startControl, type ControlProcess, type Reply } from './process-harness.js';
import { connectAgentSocket } from '../support/agent-socket.js';
import { EtcdStore } from '../../src/store/etcd.js';

let dir: string;
let certs: TestCerts;
let user: CertPair;
let etcd: TestEtcd;
let storeUrl: string;
const replicas: ControlProcess[] = [];
let n = 0;

async function replica(url = storeUrl, env: Record<string, string> = {}): Promise<ControlProcess> {
  // Generous: on a loaded 2-core machine a replica under tsx can take tens of seconds to listen.
  // The nodes here never report: with the default --node-timeout (30 s) they turn unreachable
  // while a slow run is still going, and a plain move off them is then refused (409, needs force).
  const r = await startControl(join(dir, `data-${n++}`), certs.dir, { FLOCKER_NODE_TIMEOUT_MS: '3000', ...env }, ['--store', url, '--node-timeout', '3600'], 120_000);
  replicas.push(r);
  return r;
}

const api = (r: ControlProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  callApi(r.apiPort, certs, user, method, path, body, headers);

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-replicas-'));
  certs = await makeCerts(join(dir, 'certs'), { nodes: 3 });
  user = certs.users['user']!;
  etcd = await startTestEtcd();
  storeUrl = etcd.url();
});

test.after(async () => {
  await Promise.all(replicas.map((r) => r.kill9()));
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const N = () => certs.nodes.map((x) => x.uuid);

test('a create through replica A is visible on B at once, with the same tag', async () => {
  const [a, b] = [await replica(), await replica()];
  for (let i = 0; i < 20; i++) {
    const c = await api(a, 'POST', '/v1/configuration/datasets', { primary: N()[0] });
    assert.is(c.status, 201);
    const id = (c.json as { dataset_id: string }).dataset_id;
    const list = await api(b, 'GET', '/v1/configuration/datasets');
    assert.ok((list.json as { dataset_id: string }[]).some((d) => d.dataset_id === id), `create ${i} visible on B`);
    assert.is(list.headers['x-configuration-tag'], (await api(a, 'GET', '/v1/configuration/datasets')).headers['x-configuration-tag']);
  }
});

test('concurrent writes through two replicas keep the invariants', async () => {
  const [a, b] = replicas as [ControlProcess, ControlProcess];
  // Same id created through both: exactly one 201.
  const id = 'abcdef01-1111-4111-8111-111111111111';
  const both = await Promise.all([a, b].map((r) => api(r, 'POST', '/v1/configuration/datasets', { primary: N()[0], dataset_id: id })));
  assert.equal(both.map((r) => r.status).sort(), [201, 409]);
  // Concurrent moves of one dataset: one consistent outcome everywhere.
  const moves = await Promise.all([api(a, 'POST', `/v1/configuration/datasets/${id}`, { primary: N()[1] }), api(b, 'POST', `/v1/configuration/datasets/${id}`, { primary: N()[2] })]);
  assert.equal(moves.map((m) => m.status), [200, 200]);
  const seen = await Promise.all([a, b].map(async (r) => ((await api(r, 'GET', '/v1/configuration/datasets')).json as { dataset_id: string; primary: string }[]).find((d) => d.dataset_id === id)?.primary));
  assert.is(seen[0], seen[1]);
  assert.ok(seen[0] === N()[1] || seen[0] === N()[2]);
  // Conditional moves holding one tag through two replicas: exactly one wins.
  // Both move it somewhere new: a move to where it already is writes nothing, and so (rightly)
  // succeeds beside the other whichever order they commit in.
  const [to0, to1] = N().filter((n) => n !== seen[0]);
  const tag = String((await api(a, 'GET', '/v1/configuration/datasets')).headers['x-configuration-tag']);
  const cond = await Promise.all([
    api(a, 'POST', `/v1/configuration/datasets/${id}`, { primary: to0 }, { 'X-If-Configuration-Matches': tag }),
    api(b, 'POST', `/v1/configuration/datasets/${id}`, { primary: to1 }, { 'X-If-Configuration-Matches': tag }),
  ]);
  assert.equal(cond.map((c) => c.status).sort(), [200, 412]);
  // Delete through one and move through the other: deleted stays deleted.
  await Promise.all([api(a, 'DELETE', `/v1/configuration/datasets/${id}`), api(b, 'POST', `/v1/configuration/datasets/${id}`, { primary: N()[2] })]);
  for (const r of [a, b]) {
    const d = ((await api(r, 'GET', '/v1/configuration/datasets')).json as { dataset_id: string; deleted: boolean }[]).find((x) => x.dataset_id === id);
    assert.is(d?.deleted, true);
  }
  // A lease taken through A holds against a different node through B.
  const d2 = ((await api(a, 'POST', '/v1/configuration/datasets', { primary: N()[0] })).json as { dataset_id: string }).dataset_id;
  const leases = await Promise.all([
    api(a, 'POST', '/v1/configuration/leases', { dataset_id: d2, node_uuid: N()[0], expires: null }),
    api(b, 'POST', '/v1/configuration/leases', { dataset_id: d2, node_uuid: N()[1], expires: null }),
  ]);
  assert.equal(leases.map((l) => l.status).sort(), [201, 409]);
});

test('an agent on B gets a change made through A; node state is the same on both replicas', async () => {
  const [a, b] = replicas as [ControlProcess, ControlProcess];
  const node = certs.nodes[0]!;
  const agent = await connectAgentSocket(b.agentPort, certs.caCert, node);
  try {
    agent.send({ type: 'hello', version: 1, era: 'eeeeeeee-0000-4000-8000-000000000001' });
    await agent.next((m) => m.type === 'cluster');
    const c = await api(a, 'POST', '/v1/configuration/datasets', { primary: node.uuid });
    const id = (c.json as { dataset_id: string }).dataset_id;
    const pushed = await agent.next((m) => m.type === 'cluster' && Boolean(m.configuration.datasets[id]));
    assert.ok(pushed.type === 'cluster' && pushed.store.generation > 0);
    agent.send({ type: 'report', report: { manifestations: [{ datasetId: id, path: `/flocker/${id}`, maximumSize: null }], nonManifest: [], progress: [] } });
    const onA = await until('the report on A', async () => {
      const s = (await api(a, 'GET', '/v1/state/datasets')).json as { dataset_id: string }[];
      return s.some((x) => x.dataset_id === id) ? s : undefined;
    });
    assert.equal(onA, (await api(b, 'GET', '/v1/state/datasets')).json);
    assert.equal((await api(a, 'GET', '/v1/state/nodes')).json, (await api(b, 'GET', '/v1/state/nodes')).json);
    const conv = await until('the same convergence on both', async () => {
      const [x, y] = await Promise.all([api(a, 'GET', '/v1/convergence'), api(b, 'GET', '/v1/convergence')]);
      const strip = (j: unknown) => (j as { dataset_id: string; phase: string }[]).map((r) => `${r.dataset_id}:${r.phase}`).sort().join();
      return strip(x.json) === strip(y.json) ? x : undefined;
    });
    assert.ok((conv.json as { dataset_id: string; phase: string }[]).some((r) => r.dataset_id === id && r.phase === 'converged'));
  } finally {
    agent.ws.terminate();
  }
});

test('a node stays while its agent lives: replica killed, agent reconnects to the other, record survives the dead replica\'s lease', async () => {
  const c = await replica();
  const d = await replica();
  const node = certs.nodes[1]!;
  let agent = await connectAgentSocket(c.agentPort, certs.caCert, node);
  const era = 'eeeeeeee-0000-4000-8000-000000000002';
  agent.send({ type: 'hello', version: 1, era });
  await agent.next((m) => m.type === 'cluster');
  await until('node on D', async () => ((await api(d, 'GET', `/v1/state/nodes/by_era/${era}`)).status === 200 ? true : undefined));
  await c.kill9();
  agent.ws.terminate();
  agent = await connectAgentSocket(d.agentPort, certs.caCert, node);
  try {
    agent.send({ type: 'hello', version: 1, era });
    agent.send({ type: 'report', report: { manifestations: [], nonManifest: [], progress: [] } });
    // The dead replica's etcd lease (10 s) runs out; the record is D's now and stays.
    const start = Date.now();
    while (Date.now() - start < 12_000) {
      const nodes = (await api(d, 'GET', '/v1/state/nodes')).json as { uuid: string }[];
      assert.ok(nodes.some((x) => x.uuid === node.uuid), `node present ${Date.now() - start} ms after the kill`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    agent.ws.terminate();
  }
  // Agent gone for good: forgotten after the node timeout.
  await until('node forgotten', async () => {
    const nodes = (await api(d, 'GET', '/v1/state/nodes')).json as { uuid: string }[];
    return nodes.some((x) => x.uuid === node.uuid) ? undefined : true;
  });
});

test('200 parallel creates over two replicas while A is killed -9: every acknowledged create present, no duplicates', async () => {
  const a = await replica();
  const b = await replica();
  const acknowledged: string[] = [];
  const sends = Array.from({ length: 200 }, async (_, i) => {
    const r = i % 2 === 0 ? a : b;
    try {
      const res = await api(r, 'POST', '/v1/configuration/datasets', { primary: N()[0], metadata: { n: String(i) } });
      if (res.status === 201) acknowledged.push((res.json as { dataset_id: string }).dataset_id);
    } catch { /* A died mid-request: not acknowledged */ }
  });
  await until('some creates acknowledged', async () => (acknowledged.length >= 20 ? true : undefined));
  await a.kill9();
  await Promise.all(sends);
  assert.ok(acknowledged.length >= 100, `most creates acknowledged (${acknowledged.length})`);
  const list = (await api(b, 'GET', '/v1/configuration/datasets')).json as { dataset_id: string; metadata: { n?: string } }[];
  const ids = new Set(list.map((d) => d.dataset_id));
  for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged ${id} present`);
  const ns = list.map((d) => d.metadata.n).filter((x) => x !== undefined);
  assert.is(new Set(ns).size, ns.length, 'no request stored twice');
});

test('losing 1 of 3 etcd members interrupts nothing; losing 2 gives 503s, then service resumes by itself', async () => {
  const r = await replica();
  const create = () => api(r, 'POST', '/v1/configuration/datasets', { primary: N()[0] });
  await etcd.kill(0);
  for (let i = 0; i < 10; i++) assert.is((await create()).status, 201, `create ${i} with one member down`);
  assert.is((await api(r, 'GET', '/v1/configuration/datasets')).status, 200);
  await etcd.kill(1);
  const down = await create();
  assert.is(down.status, 503);
  assert.match((down.json as { description: string }).description, /unavailable/);
  assert.is((await api(r, 'GET', '/v1/configuration/datasets')).status, 503);
  await etcd.restart(0);
  await etcd.restart(1);
  const back = await until('service back', async () => {
    const c = await create();
    return c.status === 201 ? c : undefined;
  }, 60_000);
  const id = (back.json as { dataset_id: string }).dataset_id;
  const list = (await api(r, 'GET', '/v1/configuration/datasets')).json as { dataset_id: string }[];
  assert.ok(list.some((d) => d.dataset_id === id));
});

/** The exit code, or a failure (and the process killed) if it is still running after `ms`. */
async function exitOf(p: ReturnType<typeof spawnControl>, ms = 120_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`still running after ${ms} ms:\n${p.stderr()}`));
    }, ms);
  });
  try {
    return await Promise.race([p.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('etcd holding another cluster\'s configuration: refuse to start and say so', async () => {
  // Our cluster's prefix, initialised by our CA's cluster UUID (whatever the tests above did).
  const ours = await EtcdStore.open({ endpoints: etcd.endpoints, prefix: `/${storeUrl.split('/').pop()}/`, clusterUuid: certs.clusterUuid });
  await ours.close();
  const foreign = await makeCerts(join(dir, 'foreign'), { nodes: 0 });
  const p = spawnControl(join(dir, 'data-foreign'), foreign.dir, {}, ['--store', storeUrl]);
  const code = await exitOf(p);
  assert.is.not(code, 0);
  assert.match(p.stderr(), /another cluster/);
});

test('etcd unreachable at start: names the endpoints, retries, exits non-zero after --wait-store', async () => {
  const p = spawnControl(join(dir, 'data-unreachable'), certs.dir, {}, ['--store', 'etcd://127.0.0.1:1,127.0.0.1:2/x', '--wait-store', '2']);
  const code = await exitOf(p);
  assert.is.not(code, 0);
  assert.match(p.stderr(), /127\.0\.0\.1:1, 127\.0\.0\.1:2/);
  assert.match(p.stderr(), /--wait-store 2/);
});

test.run();
