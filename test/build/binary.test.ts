// The shipped artefact: release/flocker, run with no Node and no PATH, as on a bare host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFresh, RELEASE, ROOT } from '../../build/build.js';

const cwd = mkdtempSync(join(tmpdir(), 'flocker-binary-'));

function flocker(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('env', ['-i', 'PATH=/nonexistent', RELEASE, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// uvu swallows a failing before-hook's message, so the build is its own (first) test.
test('npm run build makes a fresh release/flocker (or it already is)', () => {
  if (isFresh()) return;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'build', 'build.ts')], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
  assert.is(r.status, 0, `npm run build failed:\n${r.stdout}\n${r.stderr}`);
  assert.ok(isFresh(), 'the build did not leave a fresh release/flocker');
});

test.after(() => rmSync(cwd, { recursive: true, force: true }));

test('--help lists the roles, with no warnings on stderr', () => {
  const r = flocker('--help');
  assert.is(r.code, 0, r.stderr);
  for (const cmd of ['flocker control', 'flocker agent', 'flocker plugin', 'flocker dashboard', 'flocker cluster up']) {
    assert.ok(r.stdout.includes(cmd), `--help does not mention ${cmd}`);
  }
  assert.not.ok(r.stdout.includes('flocker doctor'), 'doctor is a hidden command');
  assert.is(r.stderr, '');
});

test('--version prints the version', () => {
  const r = flocker('--version');
  assert.is(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\s*$/);
});

test('an unknown flag is one line on stderr and a non-zero exit', () => {
  const r = flocker('--no-such-flag');
  assert.ok(r.code !== 0 && r.code !== null, `exit code ${r.code}`);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /no-such-flag/);
  assert.not.match(r.stderr, /\bat .*:\d+:\d+/);
});

test('an unknown subcommand is one line on stderr and a non-zero exit', () => {
  const r = flocker('frobnicate');
  assert.ok(r.code !== 0 && r.code !== null);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /frobnicate/);
});

test('doctor: sqlite, mutual TLS, Ink and the FFI system calls (a real mount and loop device) all work inside the executable', () => {
  const r = flocker('doctor');
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const check of ['sqlite', 'mutual-tls', 'ink', 'self-spawn', 'syscalls']) assert.match(r.stdout, new RegExp(`^ok\\s+${check}\\b`, 'm'));
  // A SEA's require() serves builtins only; anything else prints this warning.
  assert.not.match(r.stderr, /single-executable|ExperimentalWarning/);
});

for (const role of ['control', 'agent', 'plugin', 'dashboard', 'cluster up', 'ca initialize']) {
  test(`${role} --help`, () => {
    const r = flocker(...role.split(' '), '--help');
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`flocker ${role}`), r.stdout);
  });
}

test('cluster up from the binary: control, an agent and a plugin run as the same executable', async () => {
  const dir = join(cwd, 'cluster');
  const proc = spawn(RELEASE, ['cluster', 'up', '--dir', dir, '--nodes', '1', '--plugins', '--api-port', '0', '--agent-port', '0', '--no-dashboard'],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 45_000;
    while (!existsSync(join(dir, 'cluster.json'))) {
      assert.ok(proc.exitCode === null, `cluster up exited early:\n${out}`);
      assert.ok(Date.now() < deadline, `cluster up not ready in 45 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGTERM');
    assert.is(await exited, 0, out);
    const logs = readdirSync(join(dir, 'logs')).map((f) => readFileSync(join(dir, 'logs', f), 'utf8')).join('\n');
    assert.not.match(logs, /single-executable|ExperimentalWarning/, 'a role required a non-builtin module inside the SEA');
  } finally {
    // SIGTERM, not SIGKILL: cluster up must get to stop its children.
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
  }
});

test.run();
