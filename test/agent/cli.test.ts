// `flocker agent` as a user meets it: help, one-line startup errors, clean stop.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DirectoryBackend } from '../../src/backends/directory.js';
import { unexpose } from '../../src/backends/fsutil.js';
import { threadedFs } from '../../src/backends/pool-fs.js';
import { asDatasetId } from '../../src/model/ids.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { flocker, freePort, ROOT, until } from './harness.js';

let dir = '';
let certs: TestCerts;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flocker-agent-cli-'));
  certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  mkdirSync(join(dir, 'pool'));
});

test.after(async () => {
  await unexpose(threadedFs, join(dir, 'mnt', D)).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const D = asDatasetId('0d0d0d0d-0000-4000-8000-000000000001');

// Start-up through tsx takes over 10 s on a loaded 2-core machine (and more from a fresh clone,
// compiling): the timeout only bounds a hang, and a process it kills says so in the assertions.
const STARTUP_MS = 180_000;

function run(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: STARTUP_MS });
  return { code: r.status ?? `killed by ${r.signal ?? 'nothing?'} (${r.error?.message ?? 'no error'})`, stdout: r.stdout, stderr: r.stderr };
}

function agentYml(name: string, over: { pool?: string; certsDir?: string; port?: number; extra?: string } = {}): string {
  const file = join(dir, name);
  writeFileSync(file, [
    'version: 1',
    `control-service: {hostname: 127.0.0.1, port: ${over.port ?? 1}}`,
    `dataset: {backend: directory, root_path: ${over.pool ?? join(dir, 'pool')}, mount_root: ${join(dir, 'mnt')}${over.extra ?? ''}}`,
    `certificates-dir: ${over.certsDir ?? certs.nodes[0]!.certificatesDir}`,
    '',
  ].join('\n'));
  return file;
}

test('--help explains the command and shows an example agent.yml', () => {
  const r = run(['agent', '--help']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /--config/);
  assert.match(r.stdout, /--unmount-on-exit/);
  assert.match(r.stdout, /control-service: \{hostname/);
});

test('a missing config file is one line naming it', () => {
  const r = run(['agent', '--config', join(dir, 'nope.yml')]);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr, `flocker: ${join(dir, 'nope.yml')}: cannot read configuration (no such file)\n`);
});

test('a bad key is one line naming the file and the key', () => {
  const r = run(['agent', '--config', agentYml('bad.yml', { extra: ', colour: blue' })]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^flocker: .*bad\.yml: dataset\.colour: unknown key/);
  assert.is(r.stderr.trim().split('\n').length, 1);
});

test('a missing pool is one clear line', () => {
  const r = run(['agent', '--config', agentYml('nopool.yml', { pool: join(dir, 'no-pool') })]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^flocker: storage pool .*no-pool does not exist \(dataset\.root_path in .*nopool\.yml\)/);
  assert.is(r.stderr.trim().split('\n').length, 1);
});

test('an unreadable node certificate is one clear line', () => {
  const empty = join(dir, 'empty-certs');
  mkdirSync(empty, { recursive: true });
  const r = run(['agent', '--config', agentYml('nocert.yml', { certsDir: empty })]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^flocker: cannot read the node certificate .*node\.crt: no such file/);
  assert.is(r.stderr.trim().split('\n').length, 1);
});

test('a read-only pool is refused (as a non-root user)', () => {
  if (process.getuid?.() === 0) {
    // root may write anywhere; the check is exercised through a non-writable path instead.
    const ro = join(dir, 'file-pool');
    writeFileSync(ro, '');
    const r = run(['agent', '--config', agentYml('ro.yml', { pool: ro })]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /^flocker: storage pool .*file-pool is not a directory/);
    return;
  }
  const ro = join(dir, 'ro-pool');
  mkdirSync(ro);
  chmodSync(ro, 0o500);
  const r = run(['agent', '--config', agentYml('ro.yml', { pool: ro })]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /not writable/);
});

async function mountedDataset(): Promise<string> {
  const backend = new DirectoryBackend({ rootPath: join(dir, 'pool'), computeInstanceId: certs.nodes[0]!.uuid, allocationUnit: 1 });
  const vols = await backend.listVolumes();
  const v = vols[0] ?? (await backend.createVolume(D, 1 << 26));
  await backend.attachVolume(v.volumeId, certs.nodes[0]!.uuid);
  const mp = join(dir, 'mnt', D);
  await backend.mount(await backend.devicePath(v.volumeId), mp);
  writeFileSync(join(mp, 'x'), 'x');
  return mp;
}

test('SIGTERM stops cleanly and leaves mounts in place, even with control unreachable', async () => {
  const mp = await mountedDataset();
  const p = flocker(['agent', '--config', agentYml('ok.yml', { port: await freePort() })]);
  try {
    await until('the agent to start trying to connect', () => (/control service unreachable/.test(p.log()) ? true : undefined), STARTUP_MS);
    assert.is(await p.stop(), 0, p.log());
    assert.ok(existsSync(join(mp, 'x')), 'still mounted');
  } finally {
    await p.kill9(); // a failed wait must not leave an agent behind for the next test
  }
});

test('--unmount-on-exit unmounts and detaches on SIGTERM, keeping the data', async () => {
  const mp = await mountedDataset();
  const p = flocker(['agent', '--unmount-on-exit', '--config', agentYml('ok.yml', { port: await freePort() })]);
  try {
    await until('the agent to start trying to connect', () => (/control service unreachable/.test(p.log()) ? true : undefined), STARTUP_MS);
    assert.is(await p.stop(), 0, p.log());
  } finally {
    await p.kill9();
  }
  assert.not.ok(existsSync(join(mp, 'x')), 'unmounted');
  const backend = new DirectoryBackend({ rootPath: join(dir, 'pool'), computeInstanceId: 'x', allocationUnit: 1 });
  const [v] = await backend.listVolumes();
  assert.is(v?.attachedTo, null);
  assert.ok(!existsSync(mp) || !lstatSync(mp).isSymbolicLink());
});

test.run();
