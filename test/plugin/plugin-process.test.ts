// `flocker plugin` as a real process with real certificates: it serves Docker at once, answers
// a clear Err while the control service is down, and works as soon as it is up.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { pluginCall, startPlugin, type PluginProcess } from './support.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/until.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'flocker-plugin-proc-'));
let certs: TestCerts;
let plugin: PluginProcess | undefined;
let control: ChildProcess | undefined;
let apiPort = 0;
const socket = join(dir, 'sock', 'ftest.sock');
const config = join(dir, 'agent.yml');

test.before(async () => {
  certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  apiPort = await freePort();
  writeFileSync(config, stringify({
    version: 1,
    'control-service': { hostname: '127.0.0.1', port: 1 },
    dataset: { backend: 'directory', root_path: join(dir, 'pool'), mount_root: join(dir, 'mnt') },
    'certificates-dir': certs.nodes[0]!.certificatesDir,
    'state-dir': join(dir, 'state'),
    plugin: { 'api-port': apiPort },
  }));
});

test.after(async () => {
  await plugin?.stop();
  if (control && control.exitCode === null) {
    control.kill('SIGTERM');
    await new Promise((r) => control!.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

test('--help explains the driver and shows docker examples', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'plugin', '--help'], { cwd: ROOT, encoding: 'utf8' });
  assert.is(r.status, 0);
  assert.match(r.stdout, /docker volume create -d flocker/);
  assert.match(r.stdout, /--socket/);
});

test('a missing node.crt is one clear line and a non-zero exit', () => {
  const bad = join(dir, 'bad.yml');
  writeFileSync(bad, readFileSync(config, 'utf8').replace(certs.nodes[0]!.certificatesDir, join(dir, 'nowhere')));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'plugin', '--config', bad, '--socket', join(dir, 'x.sock')], { cwd: ROOT, encoding: 'utf8' });
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /node\.crt/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('starts while the control service is down and says so in Err', async () => {
  plugin = await startPlugin(config, socket);
  const r = await pluginCall(socket, '/VolumeDriver.List', {});
  assert.match(String(r.Err), new RegExp(`^cannot reach the control service at 127\\.0\\.0\\.1:${apiPort}`));
  const m = await pluginCall(socket, '/VolumeDriver.Mount', { Name: 'v', ID: 'x' });
  assert.match(String(m.Err), /cannot reach the control service/);
  assert.is(m.Mountpoint, '');
});

test('works as soon as the control service comes up', async () => {
  control = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'control', '--data-dir', join(dir, 'control'),
    '--api-port', String(apiPort), '--agent-port', '0', '--listen', '127.0.0.1', '--certificates-dir', certs.dir], { cwd: ROOT, stdio: 'ignore' });
  // Generous: under load, control's tsx start-up alone has taken more than 30 s.
  const r = await until('List to succeed once control is up', async () => {
    const answer = await pluginCall(socket, '/VolumeDriver.List', {});
    if (answer.Err !== '') throw new Error(String(answer.Err));
    return answer;
  }, 180_000, 200);
  assert.equal(r, { Err: '', Volumes: [] });
  assert.equal(await pluginCall(socket, '/VolumeDriver.Create', { Name: 'v', Opts: { size: '100M' } }), { Err: '' });
  const l = await pluginCall(socket, '/VolumeDriver.List', {});
  assert.equal(l, { Err: '', Volumes: [{ Name: 'v', Mountpoint: '' }] });
  const bad = await pluginCall(socket, '/VolumeDriver.Create', { Name: 'w', Opts: { size: 'lots' } });
  assert.match(String(bad.Err), /invalid size "lots"/);
});

test('SIGTERM stops it cleanly and removes the socket', async () => {
  await plugin!.stop();
  assert.is(plugin!.proc.exitCode, 0, plugin!.output());
  assert.not.ok(existsSync(socket));
});

test.run();
