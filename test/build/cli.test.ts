// Command-line and configuration conventions (CONTRACT.md): every mistake of the user's is one
// line on stderr naming the problem, a non-zero exit, and never a stack trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { BaseContext } from 'clipanion';
import { main } from '../../src/main.js';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'flocker-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function flocker(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => { out += c.toString(); });
  stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const context = { stdin: process.stdin, stdout, stderr, env: {}, colorDepth: 1 } as unknown as BaseContext;
  const code = await main(argv, context);
  return { code, stdout: out, stderr: err };
}

function oneLine(r: { code: number; stderr: string }, mentions: RegExp): void {
  assert.ok(r.code !== 0, `exit code ${r.code}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, mentions);
  assert.not.match(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const GOOD = [
  'version: 1',
  'control-service: {hostname: 127.0.0.1, port: 4524}',
  'dataset: {backend: directory, root_path: ./pool, mount_root: ./mnt}',
].join('\n');

test('unknown subcommand', async () => oneLine(await flocker('frobnicate'), /unknown command: frobnicate/));
test('unknown flag of a subcommand', async () => oneLine(await flocker('agent', '--bogus'), /--bogus/));
test('cluster up: a non-number --nodes', async () => oneLine(await flocker('cluster', 'up', '--nodes', 'three'), /--nodes .*"three"/));
test('cluster up: an unknown --backend', async () => oneLine(await flocker('cluster', 'up', '--backend', 'zfs'), /--backend .*"zfs"/));

test('agent: missing --config file', async () => {
  const missing = join(dir, 'nope.yml');
  oneLine(await flocker('agent', '--config', missing), new RegExp(`${missing}.*no such file`));
});

test('agent: unreadable --config (a directory)', async () => {
  const d = join(dir, 'a-dir.yml');
  mkdirSync(d, { recursive: true });
  oneLine(await flocker('agent', '--config', d), /a-dir\.yml.*cannot read/);
});

test('agent: malformed YAML', async () => {
  oneLine(await flocker('agent', '--config', file('bad.yml', 'version: 1\ndataset: {backend: [\n')), /bad\.yml.*malformed YAML/);
});

test('agent: wrong-typed key names the key', async () => {
  const p = file('typed.yml', GOOD.replace('port: 4524', 'port: "four"'));
  oneLine(await flocker('agent', '--config', p), /typed\.yml: control-service\.port: must be an integer/);
});

test('agent: missing required key and unknown backend name the key', async () => {
  oneLine(await flocker('agent', '--config', file('nohost.yml', GOOD.replace('hostname: 127.0.0.1, ', ''))), /control-service\.hostname: required key is missing/);
  oneLine(await flocker('agent', '--config', file('zfs.yml', GOOD.replace('backend: directory', 'backend: zfs'))), /dataset\.backend: unknown backend "zfs"/);
  oneLine(await flocker('agent', '--config', file('v2.yml', GOOD.replace('version: 1', 'version: 2'))), /version: must be 1/);
});

test('loadAgentConfig itself: typed ConfigError naming file and key; relative paths resolve next to the file', () => {
  assert.throws(() => loadAgentConfig(file('typed2.yml', GOOD.replace('root_path: ./pool', 'root_path: 7'))),
    (e: unknown) => e instanceof ConfigError && e.key === 'dataset.root_path' && e.file === join(dir, 'typed2.yml'));
  const cfg = loadAgentConfig(file('good.yml', GOOD));
  assert.is(cfg.dataset.rootPath, join(dir, 'pool'));
  assert.is(cfg.certificatesDir, dir, 'certificates-dir defaults to the folder holding agent.yml');
});

test.run();
