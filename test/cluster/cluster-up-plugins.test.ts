// `cluster up --plugins --plugin-dir DIR`: one Docker plugin per node, listening as
// DIR/flocker-node-N.sock (the driver Docker finds as flocker-node-N), gone after stop.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster } from '../support/cluster.js';

function activate(socketPath: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/Plugin.Activate', method: 'POST' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end('null');
  });
}

test('each node gets a plugin socket named for Docker in --plugin-dir, removed on stop', async () => {
  const pluginDir = mkdtempSync(join(tmpdir(), 'flocker-plugin-dir-'));
  const c = await startCluster({ nodes: 2, plugins: true, pluginDir });
  try {
    const sockets = [1, 2].map((i) => join(pluginDir, `flocker-node-${i}.sock`));
    for (const s of sockets) assert.equal(await activate(s), { Implements: ['VolumeDriver'] });
    await c.stop();
    for (const s of sockets) assert.not.ok(existsSync(s), `${s} left behind`);
  } finally {
    await c.stop();
    rmSync(pluginDir, { recursive: true, force: true });
  }
});

test.run();
