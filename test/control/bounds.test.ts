// Values found by probing that must be refused with 400 and leave nothing stored, ids that
// name Object.prototype's members, and a client that aborts mid-body (not a server error).
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlHub } from '../../src/roles/control/hub.js';
import { createApp } from '../../src/roles/control/app.js';
import { openStore } from '../../src/store/sqlite.js';
import type { ConfigurationStore } from '../../src/store/store.js';
import { deploymentToJson, MAXIMUM_MAXIMUM_SIZE } from '../../src/model/configuration.js';
import { until } from '../support/until.js';

const N1 = '11111111-1111-4111-8111-111111111111';
const D1 = 'aaaaaaaa-1111-4111-8111-111111111111';

let dir: string;
let store: ConfigurationStore;
let hub: ControlHub;
let server: Server;
let port: number;
let logged: { level: number; msg: string }[];
let responsesClosed = 0;

test.before.each(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-bounds-'));
  store = openStore(dir);
  hub = new ControlHub({ store });
  logged = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logged.push(JSON.parse(line) as { level: number; msg: string });
      cb();
    },
  });
  const handle = createApp(hub, pino({ level: 'debug' }, sink)).callback();
  responsesClosed = 0;
  server = createServer((req, res) => {
    res.once('close', () => { responsesClosed += 1; });
    void handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
test.after.each(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function call(method: string, path: string, body?: Buffer | string | object): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request({ host: '127.0.0.1', port, method, path, headers: payload ? { 'content-length': payload.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = text; }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function nothingStored(): Promise<void> {
  assert.equal((await call('GET', '/v1/configuration/datasets')).json, []);
  assert.equal((await call('GET', '/v1/configuration/leases')).json, []);
  assert.equal(deploymentToJson(store.deployment), { datasets: {}, leases: {} });
}

test('maximum_size above 1 PiB (2^64, 2^53, 2^50 + 1024) is refused with 400; 1 PiB itself is fine', async () => {
  for (const size of [2 ** 64, 2 ** 53, MAXIMUM_MAXIMUM_SIZE + 1024, 1e308]) {
    const r = await call('POST', '/v1/configuration/datasets', { primary: N1, maximum_size: size });
    assert.is(r.status, 400, String(size));
    assert.match(JSON.stringify(r.json), 'maximum_size');
  }
  // 2^64 spelled out in the JSON text, past what a double holds exactly.
  assert.is((await call('POST', '/v1/configuration/datasets', `{"primary":"${N1}","maximum_size":18446744073709551616}`)).status, 400);
  await nothingStored();
  assert.is((await call('POST', '/v1/configuration/datasets', { primary: N1, maximum_size: MAXIMUM_MAXIMUM_SIZE })).status, 201);
});

test('lease expires of ±1e308, negative or beyond ten years is refused with 400; null and 30 are fine', async () => {
  for (const expires of [1e308, -1e308, -1, 400_000_000]) {
    const r = await call('POST', '/v1/configuration/leases', { dataset_id: D1, node_uuid: N1, expires });
    assert.is(r.status, 400, String(expires));
    assert.match(JSON.stringify(r.json), 'expires');
  }
  await nothingStored();
  assert.is((await call('POST', '/v1/configuration/leases', { dataset_id: D1, node_uuid: N1, expires: 30 })).status, 201);
  assert.is((await call('POST', '/v1/configuration/leases', { dataset_id: D1, node_uuid: N1, expires: null })).status, 200);
});

test('a body with invalid UTF-8 is refused with 400, never stored with replacement characters', async () => {
  const head = Buffer.from(`{"primary":"${N1}","metadata":{"name":"`);
  const body = Buffer.concat([head, Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}}')]);
  const r = await call('POST', '/v1/configuration/datasets', body);
  assert.is(r.status, 400);
  await nothingStored();
  // Valid multi-byte UTF-8 is of course fine.
  const ok = await call('POST', '/v1/configuration/datasets', { primary: N1, metadata: { name: 'Zürich 東京' } });
  assert.is(ok.status, 201);
  assert.is((ok.json as { metadata: { name: string } }).metadata.name, 'Zürich 東京');
});

test('ids named after Object.prototype members are never found: 404, nothing changes', async () => {
  for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
    assert.is((await call('DELETE', `/v1/configuration/leases/${id}`)).status, 404, `DELETE lease ${id}`);
    assert.is((await call('DELETE', `/v1/configuration/datasets/${id}`)).status, 404, `DELETE dataset ${id}`);
    assert.is((await call('POST', `/v1/configuration/datasets/${id}`, { primary: N1 })).status, 404, `move ${id}`);
    assert.is((await call('GET', `/v1/state/nodes/by_era/${id}`)).status, 404, `era ${id}`);
  }
  await nothingStored();
  assert.ok(!logged.some((l) => l.level >= 50), 'no server error logged');
});

test('a client that aborts mid-body is not logged as a server error', async () => {
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(`POST /v1/configuration/datasets HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"primary":`);
  // The body is being read once the server holds the connection open for the rest of it.
  await until('the request to be under way', () => new Promise<boolean>((r) => server.getConnections((_e, n) => r(n > 0))));
  sock.destroy();
  await until('the aborted request to be closed', () => responsesClosed >= 1);
  // A round trip after the abort: its handling (and any log line) has run by then.
  assert.equal(logged.filter((l) => l.level >= 50).map((l) => l.msg), [], 'no error logged');
  await nothingStored();
});

test.run();
