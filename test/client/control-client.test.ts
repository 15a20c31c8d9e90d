// The client against real local https servers (real mutual TLS) serving canned answers: request
// shapes, Flocker error bodies, connection failures, the event stream. The full API is tested
// against the real control service in test/control/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createControlClient } from '../../src/client/control-client.js';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { ApiRequestError, type ClientOptions, type ControlClient } from '../../src/client/types.js';
import { UnreachableError, UserError } from '../../src/errors.js';
import type { ClusterEvent } from '../../src/protocol/events.js';
import { refuseOtherPeers, serverTlsOptions } from '../../src/tls/options.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { failure } from '../support/failure.js';
import { until } from '../support/until.js';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

let dir: string;
let certs: TestCerts;
let foreign: TestCerts;
let server: Server;
let port: number;
let secureConnections = 0;
let seen: Seen[] = [];
let eventsClosed = 0;
let dropReused = false;
let dropped = 0;
const requestsOnSocket = new WeakMap<object, number>();
let eventsMode: 'stream' | 'end' | 'refuse' | 'silent' | 'cut' | 'burst' = 'stream';
const read = (p: string): string => readFileSync(p, 'utf8');

const N = '7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f';
const D = '11111111-2222-4333-8444-555555555555';

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const key = `${req.method} ${req.url}`;
  if (key === 'GET /v1/version') return json(res, 200, { flocker: '1.15.0' });
  if (key === 'GET /v1/configuration/datasets') {
    return json(res, 200, [{ dataset_id: D, primary: N, deleted: false, metadata: {} }], { 'X-Configuration-Tag': 'tag-1' });
  }
  if (key === 'POST /v1/configuration/datasets') {
    const tag = req.headers['x-if-configuration-matches'];
    if (tag !== undefined && tag !== 'tag-1') return json(res, 412, { description: `Tag doesn't match. Required: ${String(tag)}, current: tag-1` });
    return json(res, 201, { dataset_id: D, deleted: false, metadata: {}, ...(JSON.parse(body) as object) });
  }
  if (key === `POST /v1/configuration/datasets/${D}`) return json(res, 200, { dataset_id: D, deleted: false, metadata: {}, ...(JSON.parse(body) as object) });
  if (req.method === 'DELETE' && req.url?.startsWith('/v1/configuration/datasets/')) return json(res, 404, { description: 'Dataset not found.' });
  if (key === '/v1/state/datasets' || key === 'GET /v1/state/datasets') {
    return json(res, 400, { description: "The provided JSON doesn't match the required schema.", errors: ["'primary' is a required property"] });
  }
  if (key === 'GET /v1/state/nodes') return json(res, 200, [{ uuid: N, host: '10.0.0.1' }]);
  if (key === 'GET /v1/state/nodes/by_era/known-era') return json(res, 200, { uuid: N });
  if (req.url?.startsWith('/v1/state/nodes/by_era/')) return json(res, 404, { description: 'No node found with given era.' });
  if (key === 'POST /v1/configuration/leases') return json(res, 409, { description: 'Lease already held.' });
  if (key === 'GET /v1/configuration/leases') {
    res.writeHead(405, { 'Content-Type': 'text/html' });
    return void res.end('<html><head><title>405 Method Not Allowed</title></head><body><h1>Method Not Allowed</h1></body></html>');
  }
  if (key === `DELETE /v1/configuration/leases/${D}`) return json(res, 200, { dataset_id: D, node_uuid: N, expires: null });
  if (key === 'GET /v1/convergence') return json(res, 500, 'incident-42');
  if (key === 'GET /not-json') {
    res.writeHead(200);
    return void res.end('oops');
  }
  if (key === 'GET /slow') return; // never answers
  if (key === 'GET /v1/events') {
    if (eventsMode === 'refuse') return json(res, 403, { description: 'Events are off.' });
    if (eventsMode === 'silent') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(`event: state\ndata: []\n\n`);
      return; // and then nothing, like a peer that vanished
    }
    if (eventsMode === 'burst') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('event: state\ndata: []\n\nevent: nodes\ndata: []\n\nevent: leases\ndata: []\n\n');
      return;
    }
    if (eventsMode === 'cut') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(`event: state\ndata: []\n\n`);
      setTimeout(() => res.socket?.destroy(), 30); // the control service died
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(': heartbeat\n\n');
    const snapshot = { configuration: [], tag: 't0', state: [], nodes: [], leases: [], convergence: [] };
    res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    res.write('event: from-the-future\ndata: {}\n\n');
    res.write('event: state\ndata: [{"dataset_id"');
    // Both timers stop when the stream ends or closes: under load a late tick would otherwise
    // write to a finished response and crash the test process (ERR_STREAM_WRITE_AFTER_END).
    const rest = setTimeout(() => {
      res.write(`: "${D}"}]\n\n`);
      if (eventsMode === 'end') {
        clearInterval(beat);
        res.end();
      }
    }, 20);
    const beat = setInterval(() => {
      if (!res.writableEnded && !res.destroyed) res.write(': heartbeat\n\n');
    }, 50);
    res.on('close', () => {
      clearTimeout(rest);
      clearInterval(beat);
      eventsClosed++;
    });
    return;
  }
  json(res, 404, { description: 'no such canned route' });
}

async function listen(s: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

function opts(c: TestCerts, who: { cert: string; key: string }, extra: Partial<ClientOptions> = {}): ClientOptions {
  return { host: '127.0.0.1', port, caCert: read(c.caCert), cert: read(who.cert), key: read(who.key), ...extra };
}

let client: ControlClient;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-client-'));
  certs = await makeCerts(join(dir, 'a'), { nodes: 1, users: ['user'] });
  foreign = await makeCerts(join(dir, 'b'), { nodes: 0, users: ['user'] });
  server = createServer(serverTlsOptions({ caCert: read(certs.caCert), cert: read(certs.control.cert), key: read(certs.control.key) }), (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const n = (requestsOnSocket.get(req.socket) ?? 0) + 1;
      requestsOnSocket.set(req.socket, n);
      if (dropReused && n > 1) {
        dropped++;
        req.socket.destroy(); // as if the server had just closed this idle kept-alive connection
        return;
      }
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      route(req, res, body);
    });
  });
  refuseOtherPeers(server, 'user-');
  server.on('secureConnection', () => secureConnections++);
  port = await listen(server);
  client = createControlClient(opts(certs, certs.users['user']!));
});

test.after(() => {
  client?.close();
  server?.close();
  server?.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

test('typed calls send the right requests and parse answers; one kept-alive connection', async () => {
  seen = [];
  const before = secureConnections;
  assert.equal(await client.version(), { flocker: '1.15.0' });
  const list = await client.listDatasets();
  assert.is(list.tag, 'tag-1');
  assert.is(list.datasets[0]?.dataset_id, D);
  const created = await client.createDataset({ primary: N, metadata: { name: 'x' } }, { ifConfigurationMatches: 'tag-1' });
  assert.equal(created, { dataset_id: D, deleted: false, metadata: { name: 'x' }, primary: N });
  const moved = await client.moveDataset(D, N);
  assert.is(moved.primary, N);
  assert.equal(await client.stateNodes(), [{ uuid: N, host: '10.0.0.1' }]);
  assert.equal(await client.releaseLease(D), { dataset_id: D, node_uuid: N, expires: null });
  assert.is(secureConnections - before, 1, 'requests reuse one TLS connection');
  const post = seen.find((s) => s.method === 'POST' && s.url === '/v1/configuration/datasets')!;
  assert.is(post.headers['x-if-configuration-matches'], 'tag-1');
  assert.is(post.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(post.body), { primary: N, metadata: { name: 'x' } });
  assert.equal(JSON.parse(seen.find((s) => s.url === `/v1/configuration/datasets/${D}`)!.body), { primary: N });
  assert.is(seen.find((s) => s.url === `/v1/configuration/datasets/${D}`)!.headers['x-if-configuration-matches'], undefined);
});

/** With the server dropping every reused connection, calls still succeed (and one was dropped). */
async function callsSurviveDroppedReuse(): Promise<void> {
  dropReused = true;
  const before = dropped;
  try {
    assert.equal(await client.version(), { flocker: '1.15.0' });
    assert.equal(await client.version(), { flocker: '1.15.0' });
  } finally {
    dropReused = false;
  }
  assert.ok(dropped - before >= 1, 'a reused connection was dropped and the call still succeeded');
}

test('a kept-alive connection the server dropped is retried once on a fresh one', async () => {
  await client.version();
  await callsSurviveDroppedReuse();
});

test('when every pooled connection was dropped, the retry goes on a new one, never reported as a refused certificate', async () => {
  // Several kept-alive sockets in the pool, all closed by the server under load.
  await Promise.all([client.version(), client.version(), client.version(), client.version()]);
  await callsSurviveDroppedReuse();
});

test('error statuses become ApiRequestError with Flocker descriptions', async () => {
  let e = await failure(client.createDataset({ primary: N }, { ifConfigurationMatches: 'stale' }));
  assert.instance(e, ApiRequestError);
  assert.is((e as ApiRequestError).status, 412);
  assert.is((e as ApiRequestError).description, "Tag doesn't match. Required: stale, current: tag-1");
  e = await failure(client.deleteDataset('nope'));
  assert.is((e as ApiRequestError).status, 404);
  assert.is(e.message, 'Dataset not found.');
  e = await failure(client.acquireLease(D, N, 30));
  assert.is((e as ApiRequestError).status, 409);
  assert.is(e.message, 'Lease already held.');
  e = await failure(client.stateDatasets());
  assert.equal((e as ApiRequestError).errors, ["'primary' is a required property"]);
  assert.match(e.message, /doesn't match the required schema\. 'primary' is a required property/);
  e = await failure(client.listLeases());
  assert.is((e as ApiRequestError).status, 405);
  assert.match(e.message, /HTTP 405: 405 Method Not Allowed/);
  e = await failure(client.convergence());
  assert.is((e as ApiRequestError).status, 500);
  assert.match(e.message, /internal error.*incident-42/);
  assert.instance(e, UserError);
});

test('nodeByEra: the node, or undefined on 404', async () => {
  assert.equal(await client.nodeByEra('known-era'), { uuid: N });
  assert.is(await client.nodeByEra('other'), undefined);
});

test('events: snapshot then changes, heartbeats and unknown events skipped, chunk boundaries healed; abort ends cleanly', async () => {
  eventsMode = 'stream';
  const closedBefore = eventsClosed;
  const ac = new AbortController();
  const got: ClusterEvent[] = [];
  for await (const e of client.events(ac.signal)) {
    got.push(e);
    if (got.length === 2) setTimeout(() => ac.abort(), 120); // let some heartbeats pass, then stop
  }
  assert.is(got.length, 2);
  assert.is(got[0]!.type, 'snapshot');
  assert.equal(got[1], { type: 'state', data: [{ dataset_id: D }] });
  await until('the server to see the stream close', () => eventsClosed > closedBefore, 60_000);
  assert.is(eventsClosed, closedBefore + 1, 'the server saw the stream close');
});

test('events: breaking out of the loop closes the stream; a server that ends the stream ends the iteration', async () => {
  eventsMode = 'stream';
  const closedBefore = eventsClosed;
  for await (const e of client.events()) {
    assert.is(e.type, 'snapshot');
    break;
  }
  await until('the server to see the stream close', () => eventsClosed > closedBefore, 60_000);
  assert.is(eventsClosed, closedBefore + 1);
  eventsMode = 'end';
  const types: string[] = [];
  for await (const e of client.events()) types.push(e.type);
  assert.equal(types, ['snapshot', 'state']);
});

test('events: an error status is an ApiRequestError; an aborted signal yields nothing', async () => {
  eventsMode = 'refuse';
  const e = await failure((async () => {
    for await (const _ of client.events()) { /* none */ }
  })());
  assert.instance(e, ApiRequestError);
  assert.is(e.message, 'Events are off.');
  const ac = new AbortController();
  ac.abort();
  const got: ClusterEvent[] = [];
  for await (const x of client.events(ac.signal)) got.push(x);
  assert.equal(got, []);
  eventsMode = 'stream';
});

test('events: a stream that goes silent (no heartbeats) fails with UnreachableError so the caller can reconnect', async () => {
  eventsMode = 'silent';
  const c = createControlClient(opts(certs, certs.users['user']!, { eventsIdleTimeoutMs: 300 }));
  const got: ClusterEvent[] = [];
  const e = await failure((async () => {
    for await (const x of c.events()) got.push(x);
  })());
  c.close();
  eventsMode = 'stream';
  assert.equal(got, [{ type: 'state', data: [] }]);
  assert.instance(e, UnreachableError, `${e.name}: ${e.message} ${String((e as { code?: string }).code)}`);
  assert.match(e.message, /event stream went silent \(nothing received for 0\.3 s\)/);
});

test('events: nothing is yielded after an abort, even events that arrived in the same chunk', async () => {
  eventsMode = 'burst';
  const ac = new AbortController();
  const got: string[] = [];
  for await (const e of client.events(ac.signal)) {
    got.push(e.type);
    ac.abort();
  }
  eventsMode = 'stream';
  assert.equal(got, ['state']);
});

test('events: a stream cut mid-way fails with UnreachableError', async () => {
  eventsMode = 'cut';
  const got: ClusterEvent[] = [];
  const e = await failure((async () => {
    for await (const x of client.events()) got.push(x);
  })());
  eventsMode = 'stream';
  assert.equal(got, [{ type: 'state', data: [] }]);
  assert.instance(e, UnreachableError);
  assert.match(e.message, /^cannot reach the control service at 127\.0\.0\.1:\d+: the event stream was cut/);
  assert.equal(await client.version(), { flocker: '1.15.0' }, 'the client still works');
});

test('nothing listening: UnreachableError naming the address', async () => {
  const s = createHttpServer();
  const free = await listen(s);
  await new Promise((r) => s.close(r));
  const c = createControlClient(opts(certs, certs.users['user']!, { port: free }));
  const e = await failure(c.version());
  c.close();
  assert.instance(e, UnreachableError);
  assert.is(e.message, `cannot reach the control service at 127.0.0.1:${free}: connection refused (is \`flocker control\` running and listening on that port?)`);
});

test('unknown host: UnreachableError', async () => {
  const c = createControlClient(opts(certs, certs.users['user']!, { host: 'no-such-host.invalid' }));
  const e = await failure(c.version());
  c.close();
  assert.instance(e, UnreachableError);
  assert.match(e.message, /no-such-host\.invalid.*(no such host|could not be resolved)/);
});

test('a node certificate on the API: one line saying the API needs a user certificate', async () => {
  const c = createControlClient(opts(certs, certs.nodes[0]!));
  const e = await failure(c.version());
  c.close();
  assert.instance(e, UserError);
  assert.match(e.message, `the control service at 127.0.0.1:${port} rejected our certificate: the REST API accepts only API user certificates`);
  assert.match(e.message, `node-${certs.nodes[0]!.uuid}`);
});

test("a user certificate of another cluster: the control service rejected our certificate", async () => {
  const c = createControlClient({ ...opts(foreign, foreign.users['user']!), caCert: read(certs.caCert) });
  const e = await failure(c.version());
  c.close();
  assert.instance(e, UserError);
  assert.is(e.message, `the control service at 127.0.0.1:${port} rejected our certificate: our certificate (CN user-user) is not signed by the cluster.crt we were given: are they from the same cluster?`);
});

test("a server our cluster.crt did not sign: not this cluster's control service", async () => {
  const c = createControlClient(opts(foreign, foreign.users['user']!));
  const e = await failure(c.version());
  c.close();
  assert.match(e.message, `the server at 127.0.0.1:${port} is not this cluster's control service`);
});

test('a plain HTTP server: does not speak TLS', async () => {
  const s = createHttpServer((_q, r) => r.end('hi'));
  const p = await listen(s);
  const c = createControlClient(opts(certs, certs.users['user']!, { port: p }));
  const e = await failure(c.version());
  c.close();
  s.close();
  assert.match(e.message, /does not speak TLS/);
});

test('no answer: UnreachableError after the timeout; a non-JSON success body is a clear error', async () => {
  const c = createControlClient(opts(certs, certs.users['user']!, { timeoutMs: 300 }));
  const e = await failure((c as unknown as { call(m: string, p: string): Promise<unknown> }).call('GET', '/slow'));
  c.close();
  assert.instance(e, UnreachableError);
  assert.match(e.message, /no answer within 0\.3 s/);
  // The default timeout here: 0.3 s can pass on a loaded machine before an answer that does come.
  const e2 = await failure((client as unknown as { call(m: string, p: string): Promise<unknown> }).call('GET', '/not-json'));
  assert.match(e2.message, /not JSON/);
});

test('clientFromCertsDir: works from a folder; a missing file is one line naming it and the flags', async () => {
  const c = clientFromCertsDir({ host: '127.0.0.1', port, certsPath: certs.dir, user: 'user' });
  assert.equal(await c.version(), { flocker: '1.15.0' });
  c.close();
  const e = await failure((async () => clientFromCertsDir({ host: '127.0.0.1', port, certsPath: certs.dir, user: 'bob' }))());
  assert.instance(e, UserError);
  assert.is(e.message, `cannot read ${join(certs.dir, 'bob.crt')} (no such file): point --certs-path at the folder holding cluster.crt, bob.crt and bob.key, and choose the user with --user`);
  const e2 = await failure((async () => clientFromCertsDir({ host: '127.0.0.1', port, certsPath: join(dir, 'nowhere'), user: 'user' }))());
  assert.match(e2.message, /nowhere\/cluster\.crt \(no such file\)/);
});

test('mismatched certificate and key: refused when the client is made', () => {
  assert.throws(
    () => createControlClient({ ...opts(certs, certs.users['user']!), key: read(certs.control.key) }),
    (e: unknown) => e instanceof UserError && /unusable TLS credentials/.test(e.message),
  );
});

test.run();
