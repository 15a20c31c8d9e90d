// The agent's channel client against a real mutual-TLS WebSocket server (a stand-in for control).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer, type WebSocket } from 'ws';
import { silentLogger } from '../../src/log.js';
import type { NodeReport } from '../../src/model/cluster-state.js';
import { CHANNEL_PATH, type ControlMessage } from '../../src/protocol/channel.js';
import { ChannelClient } from '../../src/roles/agent/channel-client.js';
import { agentTlsOptions } from '../../src/roles/agent/tls.js';
import { readTlsMaterial, serverTlsOptions } from '../../src/tls/options.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { until } from './harness.js';
import { freePort } from '../support/ports.js';
import { holdsFor } from '../support/until.js';

let dir = '';
let certs: TestCerts;
let server: Server;
let wss: WebSocketServer;
let port = 0;
const received: { ws: WebSocket; text: string }[] = [];
const sockets: WebSocket[] = [];

const cluster = (now: number): ControlMessage => ({
  type: 'cluster', generation: 1, configuration: { datasets: {}, leases: {} }, cluster: { nodes: {} }, store: { identity: 'test-store', generation: 1 }, now,
});
const report = (n: number): NodeReport => ({ manifestations: [], nonManifest: [{ datasetId: `0000000${n}-0000-4000-8000-000000000000` as never, maximumSize: null }], progress: [] });

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flocker-channel-'));
  certs = await makeCerts(dir, { nodes: 1 });
  server = createServer(serverTlsOptions(readTlsMaterial(dir, { cert: 'control-service.crt', key: 'control-service.key' })));
  wss = new WebSocketServer({ server, path: CHANNEL_PATH });
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (d) => received.push({ ws, text: d.toString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

test.after(async () => {
  for (const ws of sockets) ws.terminate();
  wss.close();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

function client(events: { pushes: number; refused?: string }, extra: { address?: string; transferPort?: number } = {}) {
  return new ChannelClient({
    host: '127.0.0.1', port, tls: agentTlsOptions(certs.nodes[0]!.certificatesDir, 'test'), era: 'boot-1', log: silentLogger(), ...extra,
    onCluster: () => { events.pushes++; },
    onRefused: (r) => { events.refused = r; },
  });
}

test('says hello with the era, then the report (hello names the local address of its connection to control); re-sends the report only when it changes', async () => {
  received.length = 0;
  const ev = { pushes: 0 };
  const c = client(ev);
  c.setReport(report(1));
  c.start();
  await until('hello and report', () => (received.length >= 2 ? true : undefined), 10_000);
  assert.equal(JSON.parse(received[0]!.text), { type: 'hello', version: 1, era: 'boot-1', address: '127.0.0.1' });
  assert.equal(JSON.parse(received[1]!.text), { type: 'report', report: report(1) });
  c.setReport(report(1));
  c.setReport(report(2));
  c.setReport(report(3));
  // Messages arrive in order: once report 3 is in, an unchanged report 1 would have come before it.
  await until('the third report', () => (received.length >= 4 ? true : undefined));
  assert.equal(received.slice(2).map((m) => JSON.parse(m.text).report), [report(2), report(3)], 'an unchanged report is not sent again');
  c.stop();
});

test('hello carries an address and transfer port given to it instead', async () => {
  received.length = 0;
  const c = client({ pushes: 0 }, { address: '10.9.8.7', transferPort: 4526 });
  c.start();
  await until('hello', () => (received.length >= 1 ? true : undefined), 10_000);
  assert.equal(JSON.parse(received[0]!.text), { type: 'hello', version: 1, era: 'boot-1', address: '10.9.8.7', transferPort: 4526 });
  c.stop();
});

test('keeps the latest push with control\'s clock; has no inputs while disconnected; reconnects and re-sends', async () => {
  received.length = 0;
  const ev = { pushes: 0 };
  const c = client(ev);
  c.setReport(report(3));
  c.start();
  assert.is(c.inputs(), undefined);
  await until('connected', () => (received.length >= 2 ? true : undefined), 10_000);
  const ws = received[0]!.ws;
  ws.send(JSON.stringify(cluster(5_000)));
  await until('push', () => (ev.pushes >= 1 ? true : undefined));
  const inputs = c.inputs();
  assert.ok(inputs);
  assert.ok(inputs.now >= 5_000 && inputs.now < 6_000, `now ${inputs.now}`);
  // Control goes away: no inputs (so no action), then the client comes back by itself.
  received.length = 0;
  ws.terminate();
  await until('disconnected', () => (c.connected ? undefined : true));
  assert.is(c.inputs(), undefined);
  await until('reconnected with hello and the same report', () => (received.length >= 2 ? true : undefined), 10_000);
  assert.is(JSON.parse(received[0]!.text).type, 'hello');
  assert.equal(JSON.parse(received[1]!.text).report, report(3));
  assert.is(c.inputs(), undefined, 'the old push is not trusted after a reconnect');
  received[0]!.ws.send(JSON.stringify(cluster(9_000)));
  await until('fresh push', () => c.inputs());
  c.stop();
});

test('applies deltas in order; a delta that does not follow drops the view and asks for a snapshot once', async () => {
  received.length = 0;
  const ev = { pushes: 0 };
  const c = client(ev);
  c.start();
  await until('connected', () => (received.length >= 1 ? true : undefined), 10_000);
  const ws = received[0]!.ws;
  ws.send(JSON.stringify(cluster(1_000)));
  await until('snapshot', () => c.inputs());
  const id = '11111111-0000-4000-8000-000000000001';
  const dataset = { datasetId: id, primary: '22222222-0000-4000-8000-000000000002', deleted: false, maximumSize: null, metadata: {} };
  const delta = (from: number, generation: number, changes: object): string => JSON.stringify({ type: 'delta', from, generation, changes, now: 2_000 });
  ws.send(delta(1, 2, { datasets: { set: { [id]: dataset } } }));
  await until('delta applied', () => c.inputs()?.configuration.datasets.get(id));
  assert.equal(c.inputs()?.configuration.datasets.get(id), dataset);
  // Generation 3 never arrived: 4 and 5 do not follow.
  ws.send(delta(3, 4, { datasets: { remove: [id] } }));
  ws.send(delta(4, 5, {}));
  await until('resync asked', () => received.some((m) => JSON.parse(m.text).type === 'resync'));
  assert.is(c.inputs(), undefined, 'acts on nothing while the view is unknown');
  await new Promise((r) => setTimeout(r, 100));
  assert.is(received.filter((m) => JSON.parse(m.text).type === 'resync').length, 1, 'asked once');
  ws.send(JSON.stringify({ ...cluster(3_000), generation: 5 }));
  await until('snapshot after resync', () => c.inputs());
  ws.send(delta(5, 6, { datasets: { set: { [id]: dataset } } }));
  await until('deltas apply again', () => c.inputs()?.configuration.datasets.get(id));
  c.stop();
});

test('a refusal stops the client and is reported once', async () => {
  received.length = 0;
  const ev: { pushes: number; refused?: string } = { pushes: 0 };
  const c = client(ev);
  c.start();
  await until('connected', () => (received.length >= 1 ? true : undefined), 10_000);
  received[0]!.ws.send(JSON.stringify({ type: 'refused', reason: 'node x is already connected' }));
  await until('refused', () => ev.refused);
  assert.is(ev.refused, 'node x is already connected');
  await holdsFor('the refused client stays away', () => !c.connected && received.filter((m) => JSON.parse(m.text).type === 'hello').length === 1, 600);
});

test('does not trust a server whose certificate is not from the cluster CA', async () => {
  const other = await makeCerts(join(dir, 'other'), { nodes: 1 });
  const ev = { pushes: 0 };
  const c = new ChannelClient({
    host: '127.0.0.1', port, tls: agentTlsOptions(other.nodes[0]!.certificatesDir, 'test'), era: 'e', log: silentLogger(),
    onCluster: () => { ev.pushes++; }, onRefused: () => undefined,
  });
  received.length = 0;
  c.start();
  await holdsFor('the client never connects to an untrusted server', () => !c.connected && received.length === 0, 800);
  c.stop();
});

test('fail-over: a control address that refuses, then the next in the list; hello carries the name; a malformed push is refused', async () => {
  received.length = 0;
  const dead = await freePort();
  const ev = { pushes: 0 };
  const c = new ChannelClient({
    host: '127.0.0.1', port: dead, fallbacks: [{ host: '127.0.0.1', port }],
    tls: agentTlsOptions(certs.nodes[0]!.certificatesDir, 'test'), era: 'boot-2', name: 'db-1', log: silentLogger(),
    onCluster: () => { ev.pushes++; },
    onRefused: () => undefined,
  });
  try {
    assert.is(c.url, `wss://127.0.0.1:${dead}${CHANNEL_PATH}`);
    c.start();
    await until('hello through the second address', () => (received.length >= 1 ? true : undefined), 10_000);
    assert.is(c.url, `wss://127.0.0.1:${port}${CHANNEL_PATH}`);
    assert.equal(JSON.parse(received[0]!.text), { type: 'hello', version: 1, era: 'boot-2', address: '127.0.0.1', name: 'db-1' });
    received[0]!.ws.send(JSON.stringify({ ...cluster(1), configuration: { datasets: 'all of them' } }));
    received[0]!.ws.send(JSON.stringify(cluster(2)));
    await until('the good push', () => (ev.pushes >= 1 ? true : undefined));
    assert.is(ev.pushes, 1, 'the malformed push never reached the agent');
    assert.is(c.inputs()?.configuration.datasets !== undefined, true);
  } finally {
    c.stop();
  }
});

test('fail-over: a control service that falls silent (a dead machine sends no FIN) is dropped, and the next one tried first', async () => {
  received.length = 0;
  // The silent one accepts the connection, then never answers a ping nor says anything.
  const mute = createServer(serverTlsOptions(readTlsMaterial(dir, { cert: 'control-service.crt', key: 'control-service.key' })));
  const muteWss = new WebSocketServer({ server: mute, path: CHANNEL_PATH, autoPong: false });
  const muteSockets: WebSocket[] = [];
  muteWss.on('connection', (ws) => { muteSockets.push(ws); });
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
  const mutePort = (mute.address() as { port: number }).port;
  const c = new ChannelClient({
    host: '127.0.0.1', port: mutePort, fallbacks: [{ host: '127.0.0.1', port }],
    tls: agentTlsOptions(certs.nodes[0]!.certificatesDir, 'test'), era: 'boot-3', log: silentLogger(),
    onCluster: () => undefined, onRefused: () => undefined,
  });
  try {
    c.start();
    await until('connected to the silent one', () => (c.connected ? true : undefined), 10_000);
    await until('hello through the second address', () => (received.length >= 1 ? true : undefined), 15_000);
    assert.is(c.url, `wss://127.0.0.1:${port}${CHANNEL_PATH}`);
    assert.is(muteSockets.length, 1, 'the silent one was not tried again first');
  } finally {
    c.stop();
    for (const ws of muteSockets) ws.terminate();
    muteWss.close();
    mute.close();
  }
});

test.run();
