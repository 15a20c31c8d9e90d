import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.js';
import { VolumeDriver } from '../../src/roles/plugin/handlers.js';
import { MountCounts } from '../../src/roles/plugin/mount-counts.js';
import { startPluginServer, type PluginServer } from '../../src/roles/plugin/server.js';
import { FakeControl } from './fake-client.js';

const ME = '11111111-1111-4111-8111-111111111111';
const dir = mkdtempSync(join(tmpdir(), 'flocker-plugin-srv-'));
const socket = join(dir, 'run', 'plugins', 'ftest.sock');
const c = new FakeControl();
let server: PluginServer | undefined;

async function start(): Promise<PluginServer> {
  const driver = new VolumeDriver({ client: c, nodeId: ME, counts: new MountCounts(undefined), mountTimeoutMs: 1000, log: silentLogger() });
  return startPluginServer({ socket, driver, controlAddress: () => 'ctl:4523', log: silentLogger() });
}

function post(path: string, body: string | undefined, method = 'POST', contentType = 'application/vnd.docker.plugins.v1+json'):
  Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method, headers: { 'Content-Type': contentType } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test.before(async () => {
  server = await start();
});
test.after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the socket is created with its parent directories, mode 0600, parent 0700', () => {
  assert.is(statSync(socket).mode & 0o777, 0o600);
  assert.is(statSync(join(dir, 'run', 'plugins')).mode & 0o777, 0o700);
});

test('Activate accepts a null body', async () => {
  const r = await post('/Plugin.Activate', 'null');
  assert.equal(r, { status: 200, json: { Implements: ['VolumeDriver'] } });
  const r2 = await post('/Plugin.Activate', undefined, 'POST', 'text/plain');
  assert.equal(r2.json, { Implements: ['VolumeDriver'] });
});

test('Create then Get and List over the socket; unknown fields are ignored', async () => {
  assert.equal((await post('/VolumeDriver.Create', JSON.stringify({ Name: 'v', Opts: { size: '1G' }, Junk: 1 }))).json, { Err: '' });
  const g = await post('/VolumeDriver.Get', JSON.stringify({ Name: 'v', Extra: [1] }));
  assert.equal(g.json, { Err: '', Volume: { Name: 'v', Mountpoint: '' } });
  const l = await post('/VolumeDriver.List', '{}');
  assert.equal(l.json, { Err: '', Volumes: [{ Name: 'v', Mountpoint: '' }] });
  assert.equal((await post('/VolumeDriver.Capabilities', 'null')).json, { Err: '', Capabilities: { Scope: 'global' } });
});

test('errors are HTTP 200 with a non-empty Err (and Mountpoint where Docker reads it)', async () => {
  const r = await post('/VolumeDriver.Mount', JSON.stringify({ Name: 'nope', ID: 'x' }));
  assert.equal(r, { status: 200, json: { Err: 'Could not find volume with given name.', Mountpoint: '' } });
  const bad = await post('/VolumeDriver.Get', '{not json');
  assert.is(bad.status, 200);
  assert.match(String(bad.json.Err), /names no volume/);
  const arr = await post('/VolumeDriver.Get', '[1,2]');
  assert.match(String(arr.json.Err), /names no volume/);
});

/** One raw exchange on the socket, Date header blanked: the exact bytes Docker reads. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(socket);
    let text = '';
    sock.on('data', (d: Buffer) => {
      text += d.toString();
      const [head, body] = text.split('\r\n\r\n');
      const length = Number(/Content-Length: (\d+)/.exec(head ?? '')?.[1] ?? -1);
      if (body !== undefined && Buffer.byteLength(body) === length) {
        sock.destroy();
        resolve(text.replace(/Date: [^\r]*/, 'Date: -'));
      }
    });
    sock.on('error', reject);
    sock.write(request);
  });
}

test('raw bytes: the status line, headers and body Docker reads, in this order, no charset', async () => {
  const keep = 'Date: -\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60\r\n\r\n';
  assert.is(await raw('POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnull'),
    `HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.plugins.v1+json\r\nContent-Length: 31\r\n${keep}{"Implements":["VolumeDriver"]}`);
  assert.is(await raw('GET /VolumeDriver.List HTTP/1.1\r\nHost: x\r\n\r\n'),
    `HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\nContent-Type: application/vnd.docker.plugins.v1+json\r\nContent-Length: 39\r\n${keep}{"Err":"/VolumeDriver.List takes POST"}`);
  assert.is(await raw('POST /Nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'),
    `HTTP/1.1 404 Not Found\r\nContent-Type: application/vnd.docker.plugins.v1+json\r\nContent-Length: 39\r\n${keep}{"Err":"unknown plugin endpoint /Nope"}`);
});

test('unknown path is 404, wrong method 405', async () => {
  assert.is((await post('/VolumeDriver.Frobnicate', '{}')).status, 404);
  assert.is((await post('/VolumeDriver.List', undefined, 'GET')).status, 405);
});

test('control service down: a clear Err, the server keeps serving', async () => {
  c.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4523'), { code: 'ECONNREFUSED' });
  const r = await post('/VolumeDriver.List', '{}');
  assert.is(r.status, 200);
  assert.match(String(r.json.Err), /^cannot reach the control service at ctl:4523/);
  c.failWith = undefined;
  assert.is((await post('/VolumeDriver.List', '{}')).json.Err, '');
});

test('a second server on a live socket is refused; a stale socket is replaced; close removes it', async () => {
  try {
    await start();
    assert.unreachable('should refuse a live socket');
  } catch (e) {
    assert.match((e as Error).message, /already serving/);
  }
  await server!.close();
  assert.not.ok(existsSync(socket));
  // A socket file nobody listens on: its owner was killed with -9.
  const child = spawn(process.execPath, ['-e', 'require("net").createServer().listen(process.argv[1])', socket], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(existsSync(socket), 'stale socket left behind');
  server = await start();
  assert.is((await post('/Plugin.Activate', 'null')).status, 200);
});

test('a regular file in the socket\'s place is not clobbered', async () => {
  const other = join(dir, 'notasocket.sock');
  writeFileSync(other, 'keep me');
  const driver = new VolumeDriver({ client: c, nodeId: ME, counts: new MountCounts(undefined), mountTimeoutMs: 1000, log: silentLogger() });
  try {
    await startPluginServer({ socket: other, driver, controlAddress: () => 'x', log: silentLogger() });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /not a socket/);
  }
});

test.run();
