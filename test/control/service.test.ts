// The control service as a real process: real certificates, real TLS, real SQLite file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { makeCerts, type CertPair, type TestCerts } from '../support/certs.js';
import { callApi, spawnControl, startControl, type ControlProcess } from './process-harness.js';
import { connectAgentSocket, type AgentSocket } from '../support/agent-socket.js';
import type { NodeReport } from '../../src/model/cluster-state.js';

let dir: string;
let certs: TestCerts;
let foreign: TestCerts;
let control: ControlProcess;
let user: CertPair;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-control-'));
  certs = await makeCerts(join(dir, 'certs'), { nodes: 2 });
  foreign = await makeCerts(join(dir, 'foreign'), { nodes: 1 });
  user = certs.users['user']!;
  control = await startControl(join(dir, 'data'), certs.dir, { FLOCKER_NODE_TIMEOUT_MS: '1500' });
});

test.after(async () => {
  await control?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const api = (method: string, path: string, body?: unknown, who: CertPair | undefined = user) => callApi(control.apiPort, certs, who, method, path, body);

async function refused(p: Promise<unknown>): Promise<boolean> {
  try {
    const r = (await p) as { status: number };
    return r.status === 401 || r.status === 403;
  } catch {
    return true;
  }
}

// Consuming, and failing on a delta out of order: these tests check the push order itself.
const connectAgent = (node: { cert: string; key: string }): Promise<AgentSocket> =>
  connectAgentSocket(control.agentPort, certs.caCert, node, { consume: true, onGap: 'fail', timeoutMs: 5000 });

test('the REST API answers a user certificate over mutual TLS', async () => {
  const r = await api('GET', '/v1/version');
  assert.equal([r.status, r.json], [200, { flocker: '1.15.0' }]);
});

test('TLS refusals: no certificate, a node certificate, a foreign CA; a user certificate on the agent port', async () => {
  assert.ok(await refused(callApi(control.apiPort, certs, undefined, 'GET', '/v1/version')), 'no client certificate');
  assert.ok(await refused(api('GET', '/v1/version', undefined, certs.nodes[0]!)), 'node certificate on the API port');
  assert.ok(await refused(api('GET', '/v1/version', undefined, foreign.users['user']!)), 'certificate from another CA');
  let userOnAgentPort = false;
  try {
    const a = await connectAgent(user);
    await Promise.race([a.closed, new Promise((r) => setTimeout(r, 2000))]);
    userOnAgentPort = a.ws.readyState !== WebSocket.OPEN;
  } catch {
    userOnAgentPort = true;
  }
  assert.ok(userOnAgentPort, 'user certificate refused on the agent port');
  let foreignNode = false;
  try {
    const a = await connectAgent(foreign.nodes[0]!);
    await Promise.race([a.closed, new Promise((r) => setTimeout(r, 2000))]);
    foreignNode = a.ws.readyState !== WebSocket.OPEN;
  } catch {
    foreignNode = true;
  }
  assert.ok(foreignNode, 'node certificate of another cluster refused');
  assert.is((await api('GET', '/v1/version')).status, 200, 'service still fine');
});

test('channel: hello → cluster push; report → state; duplicate node refused; first keeps working', async () => {
  const node = certs.nodes[0]!;
  const era = 'aaaaaaaa-0000-4000-8000-000000000001';
  const a = await connectAgent(node);
  a.ws.send(JSON.stringify({ type: 'hello', version: 1, era }));
  const first = await a.next((m) => m.type === 'cluster');
  assert.is(first.type, 'cluster');
  if (first.type === 'cluster') {
    assert.ok(first.cluster.nodes[node.uuid], 'cluster state names the new node');
    assert.ok(Math.abs(first.now - Date.now()) < 5000);
  }
  assert.equal((await api('GET', `/v1/state/nodes/by_era/${era}`)).json, { uuid: node.uuid });

  const create = await api('POST', '/v1/configuration/datasets', { primary: node.uuid, metadata: { name: 'web' } });
  const id = (create.json as { dataset_id: string }).dataset_id;
  const pushed = await a.next((m) => m.type === 'cluster' && Boolean(m.configuration.datasets[id]));
  assert.ok(pushed, 'configuration change pushed at once');

  const report: NodeReport = {
    manifestations: [{ datasetId: id as never, path: `/flocker/${id}`, maximumSize: null }],
    nonManifest: [{ datasetId: 'bbbbbbbb-0000-4000-8000-000000000009' as never, maximumSize: 67108864 }],
    progress: [],
  };
  a.ws.send(JSON.stringify({ type: 'report', report }));
  await a.next((m) => m.type === 'cluster' && m.cluster.nodes[node.uuid]?.report !== null);
  const state = (await api('GET', '/v1/state/datasets')).json as object[];
  assert.equal(new Set(state.map((s) => JSON.stringify(s))), new Set([
    JSON.stringify({ dataset_id: id, primary: node.uuid, path: `/flocker/${id}` }),
    JSON.stringify({ dataset_id: 'bbbbbbbb-0000-4000-8000-000000000009', maximum_size: 67108864 }),
  ]));
  assert.equal((await api('GET', '/v1/state/nodes')).json, [{ uuid: node.uuid, host: '127.0.0.1' }]);
  const conv = (await api('GET', '/v1/convergence')).json as { dataset_id: string; phase: string; reason: string; name: string }[];
  const row = conv.find((r) => r.dataset_id === id)!;
  assert.equal([row.phase, row.name, row.reason], ['converged', 'web', `mounted at /flocker/${id} on node ${node.uuid.slice(0, 8)}`]);

  // A bad message is ignored, not fatal.
  a.ws.send('{"type":"report","report":{"manifestations":5}}');
  a.ws.send('garbage');

  const b = await connectAgent(node);
  const refusal = await b.next((m) => m.type === 'refused');
  assert.ok(refusal.type === 'refused' && refusal.reason.includes(node.uuid), 'refusal names the node');
  await b.closed;
  await api('POST', '/v1/configuration/datasets', { primary: node.uuid, dataset_id: 'cccccccc-0000-4000-8000-000000000001' });
  await a.next((m) => m.type === 'cluster' && Boolean(m.configuration.datasets['cccccccc-0000-4000-8000-000000000001']));
  assert.is(a.ws.readyState, WebSocket.OPEN, 'first connection keeps working');
  assert.is(((await api('GET', '/v1/state/datasets')).json as unknown[]).length, 2, 'bad report did not replace the good one');

  // Disconnect, then the node times out (FLOCKER_NODE_TIMEOUT_MS=1500) and leaves /v1/state/nodes.
  a.ws.close();
  await a.closed;
  const deadline = Date.now() + 6000;
  let nodes: unknown[] = [1];
  while (Date.now() < deadline) {
    nodes = (await api('GET', '/v1/state/nodes')).json as unknown[];
    if (nodes.length === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(nodes, [], 'silent node wiped');
  assert.equal((await api('GET', '/v1/state/datasets')).json, []);
  assert.equal((await api('GET', `/v1/state/nodes/by_era/${era}`)).json, { uuid: node.uuid }, 'era mapping never expires');
});

test('channel: the hello name shows in /v1/state/nodes; a new era discards the node\'s old state', async () => {
  const node = certs.nodes[1]!;
  const a = await connectAgent(node);
  a.ws.send(JSON.stringify({ type: 'hello', version: 1, era: 'e1', name: 'db-2' }));
  a.ws.send(JSON.stringify({ type: 'report', report: { manifestations: [{ datasetId: 'dddddddd-0000-4000-8000-000000000001', path: '/x', maximumSize: null }], nonManifest: [], progress: [] } }));
  await a.next((m) => m.type === 'cluster' && (m.cluster.nodes[node.uuid]?.report?.manifestations.length ?? 0) === 1);
  const rows = (await api('GET', '/v1/state/nodes')).json as { uuid: string }[];
  assert.equal(rows.find((n) => n.uuid === node.uuid), { uuid: node.uuid, host: '127.0.0.1', name: 'db-2' }, 'the name from hello, beside the fields as before');
  a.ws.close();
  await a.closed;
  const b = await connectAgent(node);
  b.ws.send(JSON.stringify({ type: 'hello', version: 1, era: 'e2' }));
  const m = await b.next((x) => x.type === 'cluster' && x.cluster.nodes[node.uuid]?.era === 'e2');
  assert.ok(m.type === 'cluster' && m.cluster.nodes[node.uuid]?.report === null);
  assert.is((await api('GET', '/v1/state/nodes/by_era/e1')).status, 404);
  assert.equal((await api('GET', '/v1/state/nodes/by_era/e2')).json, { uuid: node.uuid });
  b.ws.close();
  await b.closed;
});

test('channel: the address and transfer port an agent says hello with are its host and transferPort', async () => {
  const node = certs.nodes[1]!;
  const a = await connectAgent(node);
  try {
    a.ws.send(JSON.stringify({ type: 'hello', version: 1, era: 'e-addr', address: '10.1.2.3', transferPort: 4526 }));
    a.ws.send(JSON.stringify({ type: 'report', report: { manifestations: [], nonManifest: [], progress: [] } }));
    const m = await a.next((x) => x.type === 'cluster' && x.cluster.nodes[node.uuid]?.era === 'e-addr' && x.cluster.nodes[node.uuid]?.report !== null);
    assert.ok(m.type === 'cluster');
    if (m.type === 'cluster') {
      assert.is(m.cluster.nodes[node.uuid]?.host, '10.1.2.3');
      assert.is(m.cluster.nodes[node.uuid]?.transferPort, 4526);
    }
    const rows = (await api('GET', '/v1/state/nodes')).json as { uuid: string; host: string }[];
    assert.is(rows.find((r) => r.uuid === node.uuid)?.host, '10.1.2.3');
  } finally {
    a.ws.close();
    await a.closed;
  }
});

function openEvents(): Promise<{ events: { type: string; data: unknown }[]; wait(type: string, pred?: (d: unknown) => boolean): Promise<unknown>; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: { type: string; data: unknown }[] = [];
    const waiters: { type: string; pred: (d: unknown) => boolean; resolve: (d: unknown) => void }[] = [];
    const req = request({
      host: '127.0.0.1', port: control.apiPort, path: '/v1/events', method: 'GET', agent: false,
      ca: readFileSync(certs.caCert), cert: readFileSync(user.cert), key: readFileSync(user.key), servername: 'control-service',
    }, (res) => {
      assert.match(String(res.headers['content-type']), /text\/event-stream/);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!type || data === undefined) continue;
          const ev = { type, data: JSON.parse(data) as unknown };
          events.push(ev);
          for (const w of [...waiters]) if (w.type === type && w.pred(ev.data)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(ev.data); }
        }
      });
      resolve({
        events,
        wait(type, pred = () => true) {
          const have = events.find((e) => e.type === type && pred(e.data));
          if (have) return Promise.resolve(have.data);
          return new Promise((res2, rej2) => {
            const t = setTimeout(() => rej2(new Error(`no ${type} event in time`)), 5000);
            waiters.push({ type, pred, resolve: (d) => { clearTimeout(t); res2(d); } });
          });
        },
        close() { req.destroy(); },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('events: snapshot first, then configuration, leases and convergence changes as they happen', async () => {
  const ev = await openEvents();
  try {
    const snap = (await ev.wait('snapshot')) as Record<string, unknown>;
    assert.is(ev.events[0]?.type, 'snapshot');
    for (const k of ['at', 'configuration', 'tag', 'state', 'nodes', 'leases', 'convergence']) assert.ok(k in snap, k);
    const id = 'eeeeeeee-0000-4000-8000-000000000001';
    await api('POST', '/v1/configuration/datasets', { primary: certs.nodes[0]!.uuid, dataset_id: id, metadata: { name: 'ev' } });
    const conf = (await ev.wait('configuration', (d) => (d as { set: { dataset_id: string }[] }).set.some((c) => c.dataset_id === id))) as { tag: string; at: number };
    const list = await api('GET', '/v1/configuration/datasets');
    assert.is(conf.tag, list.headers['x-configuration-tag']);
    assert.ok(conf.at >= (snap['at'] as number), 'every event is stamped with the server\'s time');
    const conv = (await ev.wait('convergence', (d) => (d as { set: { dataset_id: string }[] }).set.some((r) => r.dataset_id === id))) as { set: { dataset_id: string; phase: string; reason: string }[] };
    const row = conv.set.find((r) => r.dataset_id === id)!;
    assert.is(row.phase, 'pending');
    assert.match(row.reason, /not connected/);
    await api('POST', '/v1/configuration/leases', { dataset_id: id, node_uuid: certs.nodes[0]!.uuid, expires: 0.3 });
    await ev.wait('leases', (d) => (d as { leases: unknown[] }).leases.length === 1);
    await ev.wait('leases', (d) => (d as { leases: unknown[] }).leases.length === 0);
    assert.equal((await api('GET', '/v1/configuration/leases')).json, [], 'expired lease swept');
  } finally {
    ev.close();
  }
});

test('a connection that never says hello is closed, freeing the node for its real agent', async () => {
  const node = certs.nodes[1]!;
  const silent = await connectAgent(node);
  const t = Date.now();
  await silent.closed;
  assert.ok(Date.now() - t < 5000, 'closed within the hello timeout');
  const real = await connectAgent(node);
  real.ws.send(JSON.stringify({ type: 'hello', version: 1, era: 'e3' }));
  assert.is((await real.next((m) => m.type === 'cluster')).type, 'cluster');
  real.ws.close();
  await real.closed;
});

test('a second control service on the same data directory is refused with one clear line', async () => {
  const second = spawnControl(join(dir, 'data'), certs.dir);
  const code = await second.exited;
  assert.is(code, 1);
  assert.match(second.stderr(), /^flocker: the control service is already running with this data directory \(pid \d+/);
  assert.is(second.stderr().trim().split('\n').length, 1);
});

test('a missing certificate is one clear line and a non-zero exit', async () => {
  const p = spawnControl(join(dir, 'data2'), join(dir, 'nowhere'));
  assert.is(await p.exited, 1);
  assert.match(p.stderr().trim(), /^flocker: cannot read .*nowhere\/cluster\.crt \(no such file\); set --certificates-dir$/);
});

test('SIGTERM stops cleanly and the configuration survives a restart', async () => {
  const before = await api('GET', '/v1/configuration/datasets');
  assert.is(await control.stop(), 0);
  assert.not.ok(existsSync(join(dir, 'data', 'control.pid')), 'pid file removed');
  control = await startControl(join(dir, 'data'), certs.dir, { FLOCKER_NODE_TIMEOUT_MS: '1500' });
  const after = await api('GET', '/v1/configuration/datasets');
  assert.equal(after.json, before.json);
  assert.is(after.headers['x-configuration-tag'], before.headers['x-configuration-tag']);
});

test.run();
