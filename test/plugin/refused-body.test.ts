// A refused request (unknown endpoint, wrong method) with a large body must leave its kept-alive
// connection serving the next request, whether that request follows the answer or is already
// queued behind the body; past the size limit the answer says `Connection: close` and the
// connection ends. One raw socket per case, so "the same connection" is really the same one
// (Node's client would quietly open a new socket while the old one is still writing).
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.js';
import { MAX_BODY_BYTES } from '../../src/read-body.js';
import type { VolumeDriver } from '../../src/roles/plugin/handlers.js';
import { startPluginServer, type PluginServer } from '../../src/roles/plugin/server.js';
import { until } from '../support/until.js';

const dir = mkdtempSync(join(tmpdir(), 'flocker-refused-body-'));
const socket = join(dir, 'p.sock');
let srv: PluginServer | undefined;

test.before(async () => {
  const driver = { capabilities: () => ({ Err: '', Capabilities: { Scope: 'global' } }) } as unknown as VolumeDriver;
  srv = await startPluginServer({ socket, driver, controlAddress: () => 'x', log: silentLogger() });
});

test.after(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(method: string, path: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: plugin\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
}

interface Answer { status: number; headers: string; body: string }

/** A raw connection: what it received, split into complete answers, and whether the server closed it. */
function open(): Promise<{ sock: Socket; answers(): Answer[]; closed(): boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(socket);
    let buf = Buffer.alloc(0);
    let ended = false;
    sock.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); });
    sock.on('end', () => { ended = true; });
    sock.on('close', () => { ended = true; });
    // The server may close while a too-large body is still being written.
    sock.on('error', () => { ended = true; });
    const answers = (): Answer[] => {
      const out: Answer[] = [];
      let rest = buf;
      for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) return out;
        const headers = rest.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(headers)?.[1] ?? NaN);
        if (rest.length < end + 4 + length) return out;
        out.push({ status: Number(headers.split(' ')[1]), headers, body: rest.subarray(end + 4, end + 4 + length).toString() });
        rest = rest.subarray(end + 4 + length);
      }
    };
    sock.once('connect', () => resolve({ sock, answers, closed: () => ended }));
    sock.once('error', reject);
  });
}

const almostLimit = Buffer.alloc(MAX_BODY_BYTES - 100, 'x');
const capabilities = request('POST', '/VolumeDriver.Capabilities', Buffer.from('{}'));

test('one connection: a refused ~1 MB body, answered, then the next request on it is answered', async () => {
  const c = await open();
  try {
    c.sock.write(request('GET', '/VolumeDriver.Mount', almostLimit));
    await until('the 405', () => (c.answers().length === 1 ? true : undefined));
    c.sock.write(request('POST', '/6%25%5ByBo%3EG', almostLimit));
    await until('the 404', () => (c.answers().length === 2 ? true : undefined));
    c.sock.write(capabilities);
    await until('the third answer', () => (c.answers().length === 3 ? true : undefined));
    assert.equal(c.answers().map((a) => a.status), [405, 404, 200]);
    assert.is(c.answers()[1]!.body, '{"Err":"unknown plugin endpoint /6%25%5ByBo%3EG"}');
    assert.not.ok(c.closed(), 'the connection stays open');
  } finally {
    c.sock.destroy();
  }
});

test('one connection: the next requests already queued behind a refused ~1 MB body are answered in order', async () => {
  const c = await open();
  try {
    c.sock.write(Buffer.concat([request('POST', '/nowhere', almostLimit), request('POST', '/%5C', Buffer.from('{"Name":"x"}')), capabilities]));
    await until('three answers', () => (c.answers().length === 3 ? true : undefined));
    assert.equal(c.answers().map((a) => a.status), [404, 404, 200]);
    assert.not.ok(c.closed(), 'the connection stays open');
  } finally {
    c.sock.destroy();
  }
});

test('over the limit: refused with Connection: close, and the connection ends', async () => {
  const c = await open();
  try {
    c.sock.write(request('POST', '/nowhere', Buffer.alloc(MAX_BODY_BYTES + 10, 'x')));
    await until('the 404 and the close', () => (c.answers().length === 1 && c.closed() ? true : undefined));
    assert.is(c.answers()[0]!.status, 404);
    assert.match(c.answers()[0]!.headers, /\r\nConnection: close/);
  } finally {
    c.sock.destroy();
  }
});

test.run();
