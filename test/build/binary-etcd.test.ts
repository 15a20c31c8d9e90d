// release/flocker with the configuration on etcd, run with no Node and no PATH: etcd3 and its
// gRPC definitions must all be inside the executable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFresh, RELEASE, ROOT } from '../../build/build.js';
import { makeCerts } from '../support/certs.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { callApi } from '../control/process-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'flocker-binary-etcd-'));
let etcd: TestEtcd | undefined;

test('npm run build makes a fresh release/flocker (or it already is)', () => {
  if (isFresh()) return;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'build', 'build.ts')], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
  assert.is(r.status, 0, `npm run build failed:\n${r.stdout}\n${r.stderr}`);
});

test.after(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('env -i PATH=/nonexistent release/flocker control --store etcd://... serves the API', async () => {
  etcd = await startTestEtcd();
  const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  const data = join(dir, 'data');
  const child = spawn('env', ['-i', 'PATH=/nonexistent', RELEASE, 'control', '--data-dir', data, '--certificates-dir', certs.dir,
    '--api-port', '0', '--agent-port', '0', '--listen', '127.0.0.1', '--store', etcd.url()], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const info = join(data, 'control.json');
    const deadline = Date.now() + 30_000;
    while (!existsSync(info)) {
      assert.ok(child.exitCode === null, `control exited: ${err}`);
      assert.ok(Date.now() < deadline, `control did not listen in time: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const port = (JSON.parse(readFileSync(info, 'utf8')) as { api_port: number }).api_port;
    const user = certs.users['user']!;
    const c = await callApi(port, certs, user, 'POST', '/v1/configuration/datasets', { primary: certs.nodes[0]!.uuid });
    assert.is(c.status, 201, c.text);
    const list = await callApi(port, certs, user, 'GET', '/v1/configuration/datasets');
    assert.is((list.json as unknown[]).length, 1);
    assert.not.match(err, /ENOENT|proto/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test.run();
