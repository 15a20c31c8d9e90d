// Found by fuzzing: a refused request (unknown endpoint, wrong method) answered while its large
// body was still arriving left the kept-alive connection unable to serve the next request.
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.js';
import { startPluginServer } from '../../src/roles/plugin/server.js';
import type { VolumeDriver } from '../../src/roles/plugin/handlers.js';

test('after a refused 1 MB request the same connection serves the next one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-refused-body-'));
  const socket = join(dir, 'p.sock');
  const driver = { capabilities: () => ({ Err: '', Capabilities: { Scope: 'global' } }) } as unknown as VolumeDriver;
  const srv = await startPluginServer({ socket, driver, controlAddress: () => 'x', log: silentLogger() });
  const call = (method: string, path: string, body: Buffer): Promise<number | string> => new Promise((resolve) => {
    const req = request({ socketPath: socket, method, path, headers: { 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('socket', (sock) => { if (sock.listenerCount('error') === 0) sock.on('error', () => undefined); });
    req.setTimeout(10_000, () => { req.destroy(); resolve('no answer within 10 s'); });
    req.on('error', (e) => resolve(e.message));
    req.end(body);
  });
  try {
    assert.is(await call('GET', '/VolumeDriver.Mount', Buffer.alloc(1024 * 1024 - 100, 'x')), 405);
    assert.is(await call('POST', '/nowhere', Buffer.alloc(900 * 1024, 'x')), 404);
    assert.is(await call('POST', '/VolumeDriver.Capabilities', Buffer.from('{}')), 200);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
