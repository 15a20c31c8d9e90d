// The operator commands end-to-end against a real cluster (control + 2 agents, real TLS),
// run in-process through main() with captured streams, plus spawned processes for exit codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { main } from '../../src/main.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/ports.js';

let cluster: TestCluster;
let conn: string[];

interface Run { code: number; out: string; err: string }

async function flocker(...argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
  const code = await main([...argv, ...conn], {
    env: {}, stdin: new PassThrough(), colorDepth: 1,
    stdout: sink((s) => { out += s; }), stderr: sink((s) => { err += s; }),
  });
  return { code, out, err };
}

function oneLine(r: Run, message: string | RegExp): void {
  assert.is.not(r.code, 0, `expected failure, got ${r.code}: ${r.out}`);
  assert.match(r.err, message);
  assert.is(r.err.trim().split('\n').length, 1, `not one line: ${r.err}`);
  assert.not.match(r.err, 'internal error');
}

test.before(async () => {
  cluster = await startCluster({ nodes: 2 });
  conn = ['--control-port', String(cluster.apiPort), '--certs-path', cluster.certsPath, '--user', cluster.user];
});

test.after(async () => {
  await cluster?.stop();
});

test('list-nodes shows both nodes, short by default, full with -l, and as JSON', async () => {
  const r = await flocker('list-nodes');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^\nSERVER\s+ADDRESS\s+NAME\n/);
  for (const [i, n] of cluster.nodes.entries()) {
    assert.match(r.out, new RegExp(`${n.uuid.slice(0, 8)}\\s+\\S+\\s+node-${i + 1}\\n`), 'each node with the name cluster up gave it');
    assert.not.match(r.out, n.uuid);
  }
  const long = await flocker('list-nodes', '-l');
  for (const n of cluster.nodes) assert.match(long.out, n.uuid);
  const json = JSON.parse((await flocker('list-nodes', '--json')).out) as { uuid: string; host: string }[];
  assert.equal(json.map((n) => n.uuid).sort(), cluster.nodes.map((n) => n.uuid).sort());
});

test('--node and --destination by name; --control-service fails over from an address that refuses, and says so', async () => {
  const dead = await freePort();
  const r = await flocker('create', '--node', 'node-1', '--size', '64M', '--metadata', 'name=by-name', '--control-service', `127.0.0.1:${dead},127.0.0.1`);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`^flocker: cannot reach the control service at 127\\.0\\.0\\.1:${dead}: .*; trying the control service at 127\\.0\\.0\\.1:${cluster.apiPort}\\n$`));
  const id = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(r.out)?.[0];
  assert.ok(id, r.out);
  const ls = await flocker('ls');
  assert.match(ls.out, new RegExp(`${id}.*\\snode-1\\s`), 'ls: the NODE column names the primary');
  const moved = await flocker('move', '--dataset', id!, '--destination', 'NODE-2');
  assert.is(moved.code, 0, moved.err);
  const config = JSON.parse((await flocker('ls', '--json')).out) as { dataset_id: string; primary: string }[];
  assert.is(config.find((d) => d.dataset_id === id)?.primary, cluster.nodes[1]!.uuid);
  assert.is((await flocker('destroy', '--dataset', id!)).code, 0);
});

test('create --wait -> ls shows it attached -> move --wait -> destroy --wait, all by prefixes', async () => {
  const [a, b] = cluster.nodes;
  const created = await flocker('create', '--node', a!.uuid.slice(0, 6), '--size', '128M', '--metadata', 'name=web-db,tier=db', '--wait', '--timeout', '40s');
  assert.is(created.code, 0, created.err + created.out);
  const id = /created dataset (\S+) in configuration/.exec(created.out)?.[1] ?? '';
  assert.ok(id.length === 36, created.out);
  assert.match(created.out, `is attached on ${a!.uuid.slice(0, 8)}`);

  const ls = await flocker('ls');
  assert.is(ls.code, 0, ls.err);
  const line = ls.out.split('\n').find((l) => l.startsWith(id)) ?? '';
  assert.match(line, /0\.13G\s+name=web-db,tier=db\s+attached ✅\s+/);
  assert.match(line, `${a!.uuid.slice(0, 8)} (`);

  const moved = await flocker('move', '--dataset', id.slice(0, 8), '--destination', b!.uuid, '--wait', '--timeout', '40s');
  assert.is(moved.code, 0, moved.err + moved.out);
  assert.match(moved.out, `is attached on ${b!.uuid.slice(0, 8)}`);
  const rows = JSON.parse((await flocker('ls', '--json')).out) as { dataset_id: string; primary: string; actual_node?: string; status: string }[];
  const row = rows.find((r) => r.dataset_id === id);
  assert.equal([row?.primary, row?.actual_node, row?.status], [b!.uuid, b!.uuid, 'attached']);

  const destroyed = await flocker('destroy', '-d', id.slice(0, 10), '--wait', '--timeout', '40s');
  assert.is(destroyed.code, 0, destroyed.err + destroyed.out);
  assert.match(destroyed.out, 'destroyed');
  assert.not.match((await flocker('ls')).out, id);
  assert.match((await flocker('ls', '--deleted')).out, new RegExp(`${id}.*deleted`));
});

test('create/move/destroy without --wait print flockerctl messages, or JSON that parses', async () => {
  const a = cluster.nodes[0]!;
  const r = await flocker('create', '-n', a.uuid.slice(0, 8), '--json');
  assert.is(r.code, 0, r.err);
  const d = JSON.parse(r.out) as { dataset_id: string; primary: string; deleted: boolean };
  assert.equal([d.primary, d.deleted], [a.uuid, false]);
  const plain = await flocker('destroy', '--dataset', d.dataset_id);
  assert.is(plain.code, 0, plain.err);
  assert.is(plain.out, 'marked dataset as deleted. poll list manually to see it disappear.\n');
});

test('prefix errors use the original messages; deleted datasets cannot make a prefix ambiguous', async () => {
  const a = cluster.nodes[0]!;
  for (const suffix of ['1', '2']) {
    await cluster.client.createDataset({ primary: a.uuid, dataset_id: `abcd0000-0000-4000-8000-00000000000${suffix}` });
  }
  oneLine(await flocker('destroy', '-d', 'abcd'), 'flocker: abcd is ambiguous dataset');
  oneLine(await flocker('move', '-d', 'ffffffff', '-t', a.uuid), 'flocker: no dataset uuids matching ffffffff');
  oneLine(await flocker('create', '--node', 'zzz'), 'flocker: no node uuids matching zzz');
  oneLine(await flocker('create'), 'flocker: must specify --node');
  oneLine(await flocker('move', '-d', 'abcd'), 'flocker: must specify --destination');
  assert.is((await flocker('destroy', '-d', 'abcd0000-0000-4000-8000-000000000001')).code, 0);
  // only one live dataset starts with abcd now
  const r = await flocker('destroy', '-d', 'abcd', '--json');
  assert.is(r.code, 0, r.err);
  assert.is((JSON.parse(r.out) as { dataset_id: string }).dataset_id, 'abcd0000-0000-4000-8000-000000000002');
});

test('bad size or metadata and API errors are one line and a non-zero exit', async () => {
  const a = cluster.nodes[0]!;
  oneLine(await flocker('create', '-n', a.uuid, '--size', '10Q'), 'malformed size specification "10Q"');
  oneLine(await flocker('create', '-n', a.uuid, '--metadata', 'oops'), 'malformed metadata specification "oops"');
  oneLine(await flocker('create', '-n', a.uuid, '--size', '1M'), 'size "1M" is too small: a dataset must be at least 64M');
  // moving a deleted dataset: the API refuses, and says why
  oneLine(await flocker('move', '-d', 'abcd0000-0000-4000-8000-000000000001', '-t', a.uuid), /deleted/i);
});

test('a real process: unreachable control service and wrong certificates say exactly that, exit non-zero', async () => {
  const port = await freePort();
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { encoding: 'utf8', timeout: 30_000 });
  const down = run('ls', '--control-port', String(port), '--certs-path', cluster.certsPath);
  assert.is.not(down.status, 0);
  assert.match(down.stderr, `cannot reach the control service at 127.0.0.1:${port}`);
  assert.is(down.stderr.trim().split('\n').length, 1, down.stderr);
  const empty = mkdtempSync(join(tmpdir(), 'flocker-nocerts-'));
  try {
    const nocerts = run('ls', '--control-port', String(cluster.apiPort), '--certs-path', empty);
    assert.is.not(nocerts.status, 0);
    assert.match(nocerts.stderr, 'cluster.crt');
    assert.is(nocerts.stderr.trim().split('\n').length, 1, nocerts.stderr);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('dashboard --once prints a plain snapshot of the real cluster; without a terminal it says so', async () => {
  const once = await flocker('dashboard', '--once');
  assert.is(once.code, 0, once.err);
  assert.match(once.out, /\d+\/\d+ converged/);
  for (const n of cluster.nodes) assert.match(once.out, n.uuid.slice(0, 8));
  assert.not.match(once.out, '\u001B[');
  oneLine(await flocker('dashboard'), 'needs a terminal');
  const json = JSON.parse((await flocker('dashboard', '--json')).out) as { counts: { total: number }; snapshot: { nodes: unknown[] } };
  assert.is(json.snapshot.nodes.length, 2);
  const port = await freePort();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'dashboard', '--once', '--control-port', String(port), '--certs-path', cluster.certsPath], { encoding: 'utf8', timeout: 30_000 });
  assert.is.not(r.status, 0);
  assert.match(r.stderr, `cannot reach the control service at 127.0.0.1:${port}`);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test.run();
