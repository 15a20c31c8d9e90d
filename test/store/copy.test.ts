// `flocker store copy` between a real SQLite file and a real etcd, through the real CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deploymentToJson, type Dataset, type Lease } from '../../src/model/configuration.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { EtcdStore } from '../../src/store/etcd.js';
import { randomPrefix, startTestEtcd, type TestEtcd } from '../support/etcd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let etcd: TestEtcd;
let dir: string;

test.before(async () => {
  etcd = await startTestEtcd();
  dir = mkdtempSync(join(tmpdir(), 'flocker-copy-'));
});
test.after(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function flocker(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return new Promise((r) => child.once('exit', (code) => r({ code, out, err })));
}

const N = '11111111-1111-4111-8111-111111111111' as NodeId;

test('sqlite → etcd → sqlite is lossless (datasets, deleted ones, leases, identity, generation); a non-empty destination needs --force', async () => {
  const a = join(dir, 'a.sqlite');
  const src = openSqliteStore(a);
  const datasets = new Map<string, Dataset>();
  const leases = new Map<string, Lease | null>();
  for (let i = 0; i < 250; i++) {
    const id = `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}` as DatasetId;
    datasets.set(id, { datasetId: id, primary: N, deleted: i % 7 === 0, maximumSize: i % 2 ? 67108864 * i : null, metadata: { name: `d${i}`, 'ü': 'ünïcode' } });
    if (i % 5 === 0) leases.set(id, { datasetId: id, nodeId: N, expiresAt: i % 10 ? null : 1_900_000_000_000 + i });
  }
  assert.ok(await src.commit(0, 41, { datasets, leases }));
  const original = { identity: src.identity, generation: src.generation, deployment: deploymentToJson(src.deployment) };
  await src.close();

  const url = etcd.url(randomPrefix());
  const there = await flocker('store', 'copy', `sqlite:${a}`, url);
  assert.is(there.code, 0, there.err);
  assert.match(there.out, /copied 250 datasets and 50 leases \(generation 41\)/);

  const e = await EtcdStore.open({ endpoints: etcd.endpoints, prefix: url.slice(url.lastIndexOf('/')) + '/' });
  assert.equal({ identity: e.identity, generation: e.generation, deployment: deploymentToJson(e.deployment) }, original);
  await e.close();

  const again = await flocker('store', 'copy', `sqlite:${a}`, url);
  assert.is.not(again.code, 0);
  assert.match(again.err, /already holds a configuration \(250 datasets\); refusing to overwrite it without --force/);

  const b = join(dir, 'b.sqlite');
  const back = await flocker('store', 'copy', url, `sqlite:${b}`);
  assert.is(back.code, 0, back.err);
  const round = openSqliteStore(b);
  assert.equal({ identity: round.identity, generation: round.generation, deployment: deploymentToJson(round.deployment) }, original);
  await round.close();

  // --force replaces: copy an empty store over the etcd one.
  const empty = join(dir, 'empty.sqlite');
  await openSqliteStore(empty).close();
  const forced = await flocker('store', 'copy', `sqlite:${empty}`, url, '--force');
  assert.is(forced.code, 0, forced.err);
  const e2 = await EtcdStore.open({ endpoints: etcd.endpoints, prefix: url.slice(url.lastIndexOf('/')) + '/' });
  assert.equal(deploymentToJson(e2.deployment), { datasets: {}, leases: {} });
  await e2.close();
});

test('bad store URLs are one-line errors', async () => {
  for (const bad of ['mysql://x', 'etcd://', 'etcd://host-without-port', 'sqlite:']) {
    const r = await flocker('store', 'copy', bad, `sqlite:${join(dir, 'x.sqlite')}`);
    assert.is(r.code, 1, bad);
    assert.match(r.err, /^flocker: .*store/, bad);
    assert.is(r.err.trim().split('\n').length, 1, bad);
  }
});

test.run();
