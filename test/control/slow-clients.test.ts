// Slow and numerous clients cannot hold the control service: a connection that never says
// TLS hello is closed after the handshake timeout (Node's default held it 120 s); headers or a
// body sent too slowly are cut off; past the connection cap new connections are dropped while
// the service keeps serving once they go; TLS 1.2 only with forward-secret AEAD suites.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.js';
import { startControlService, type RunningControlService } from '../../src/roles/control/service.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { until } from '../support/until.js';

const HANDSHAKE_MS = 600;
const HEADERS_MS = 600;
const REQUEST_MS = 900;
const MAX_CONNECTIONS = 6;

let dir: string;
let certs: TestCerts;
let svc: RunningControlService;
const open: Socket[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-slow-'));
  certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  svc = await startControlService({
    dataDir: join(dir, 'data'), certificatesDir: certs.dir, apiPort: 0, agentPort: 0, listen: '127.0.0.1', log: silentLogger(),
    handshakeTimeoutMs: HANDSHAKE_MS,
    limits: { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, maxConnections: MAX_CONNECTIONS },
  });
});
test.after.each(() => {
  for (const s of open.splice(0)) s.destroy();
});
test.after(async () => {
  await svc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function tcp(port: number): Promise<{ s: Socket; gone: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1');
    open.push(s);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => undefined);
    s.once('connect', () => resolve({ s, gone: closed }));
    s.once('error', reject);
  });
}

/** `p`, or a failure naming what did not happen within `ms`. */
function within(p: Promise<void>, ms: number, what: string): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

function userTls(extra: ConnectionOptions = {}): ConnectionOptions {
  const u = certs.users['user']!;
  return {
    host: '127.0.0.1', port: svc.apiPort, servername: 'control-service',
    ca: readFileSync(certs.caCert), cert: readFileSync(u.cert), key: readFileSync(u.key), ...extra,
  };
}

/** Handshake with these options; resolves the negotiated protocol and cipher, or the error. */
function handshake(extra: ConnectionOptions): Promise<{ ok: true; protocol: string | null; cipher: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const s: TLSSocket = tlsConnect(userTls(extra));
    open.push(s);
    s.once('secureConnect', () => {
      resolve({ ok: true, protocol: s.getProtocol(), cipher: s.getCipher().name });
      s.destroy();
    });
    s.once('error', (e) => resolve({ ok: false, error: e.message }));
  });
}

/** A whole GET over a new TLS connection: status code, or the error. */
function get(path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const s = tlsConnect(userTls());
    open.push(s);
    let text = '';
    s.once('secureConnect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    s.on('data', (c: Buffer) => { text += c.toString(); });
    s.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0) || `closed: ${text.slice(0, 80)}`));
    s.once('error', (e) => resolve(e.message));
  });
}

test('a connection that never says TLS hello is closed after the handshake timeout, on both ports', async () => {
  for (const port of [svc.apiPort, svc.agentPort]) {
    // Taken before connecting: the server's timer cannot start earlier than that.
    const started = Date.now();
    const { gone } = await tcp(port);
    await within(gone, 30_000, `port ${port} to close a silent connection`);
    assert.ok(Date.now() - started >= HANDSHAKE_MS * 0.8, 'not before the timeout');
  }
});

test('headers sent byte by byte are cut off, and others are served meanwhile', async () => {
  const slow = tlsConnect(userTls());
  open.push(slow);
  slow.on('error', () => undefined);
  await new Promise((r) => slow.once('secureConnect', r));
  const closed = new Promise<void>((r) => slow.once('close', () => r()));
  let cut = false;
  void closed.then(() => { cut = true; });
  const head = 'GET /v1/version HTTP/1.1\r\nHost: x\r\nX-Slow: ';
  let i = 0;
  const drip = setInterval(() => { if (!slow.destroyed) slow.write(head[i++ % head.length]!); }, 50);
  try {
    assert.is(await get('/v1/version'), 200, 'a normal client is served while the slow one drips');
    await until('the slow client to be cut off', () => cut, 30_000);
  } finally {
    clearInterval(drip);
  }
});

test('a body sent too slowly is cut off', async () => {
  const slow = tlsConnect(userTls());
  open.push(slow);
  await new Promise((r) => slow.once('secureConnect', r));
  let cut = false;
  slow.once('close', () => { cut = true; });
  slow.on('error', () => undefined);
  slow.resume(); // read the 408, so its end (and close) is seen
  slow.write('POST /v1/configuration/datasets HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"primary":');
  await until('the slow body to be cut off', () => cut, 30_000);
  assert.is(svc.hub.deployment.datasets.size, 0, 'nothing stored');
});

test('past the connection cap new connections are dropped; the service serves again once they go', async () => {
  const idle = [];
  for (let i = 0; i < MAX_CONNECTIONS; i++) idle.push(await tcp(svc.apiPort));
  const extra = await tcp(svc.apiPort);
  await within(extra.gone, 30_000, 'the connection past the cap to be dropped');
  for (const c of idle) c.s.destroy();
  await until('the service to serve again', async () => (await get('/v1/version')) === 200, 30_000);
});

test('TLS 1.2 only with forward-secret AEAD suites; TLS 1.3 allowed; older versions refused', async () => {
  const v13 = await handshake({});
  assert.ok(v13.ok && v13.protocol === 'TLSv1.3', JSON.stringify(v13));
  const gcm = await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
  assert.ok(gcm.ok && gcm.protocol === 'TLSv1.2', JSON.stringify(gcm));
  for (const cipher of ['ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384', 'AES128-GCM-SHA256', 'AES256-SHA']) {
    const r = await handshake({ maxVersion: 'TLSv1.2', ciphers: cipher });
    assert.ok(!r.ok, `${cipher} must be refused: ${JSON.stringify(r)}`);
  }
  const old = await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  assert.ok(!old.ok, `TLS 1.1 must be refused: ${JSON.stringify(old)}`);
});

test.run();
