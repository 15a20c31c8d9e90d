import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import sqlite3 from 'node-sqlite3-wasm';
import { openStore } from '../../src/store/sqlite.js';
import type { ConfigurationStore, StoreChange } from '../../src/store/store.js';
import { deploymentToJson, type DeploymentJson } from '../../src/model/configuration.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { UserError } from '../../src/errors.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'flocker-store-'));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const N = '11111111-1111-4111-8111-111111111111' as NodeId;
const D1 = 'aaaaaaaa-1111-4111-8111-111111111111' as DatasetId;
const D2 = 'bbbbbbbb-1111-4111-8111-111111111111' as DatasetId;

function change(d: DeploymentJson): StoreChange {
  return { datasets: new Map(Object.entries(d.datasets)), leases: new Map(Object.entries(d.leases)) };
}

async function put(s: ConfigurationStore, d: DeploymentJson): Promise<void> {
  assert.ok(await s.commit(s.generation, s.generation + 1, change(d)));
}

/** A configuration as plain records: stores are compared by what they hold, not by map layout. */
function deployment(): DeploymentJson {
  return {
    datasets: {
      [D1]: { datasetId: D1, primary: N, deleted: false, maximumSize: null, metadata: { name: 'one' } },
      [D2]: { datasetId: D2, primary: N, deleted: true, maximumSize: 67108864, metadata: {} },
    },
    leases: { [D1]: { datasetId: D1, nodeId: N, expiresAt: null } },
  };
}

test('a fresh store is empty, has an identity and is at the latest schema version', async () => {
  const dir = tmp();
  const s = openStore(dir);
  assert.equal(deploymentToJson(s.deployment), { datasets: {}, leases: {} });
  assert.match(s.identity, /^[0-9a-f-]{36}$/);
  assert.is(s.generation, 0);
  await s.close();
  // Closed, it is one plain file again: a copy is a whole backup, and any SQLite opens it.
  assert.not.ok(existsSync(join(dir, 'control.sqlite-wal')), 'no write-ahead log left beside it');
  const db = new sqlite3.Database(join(dir, 'control.sqlite'));
  assert.equal(db.all('PRAGMA journal_mode'), [{ journal_mode: 'delete' }]);
  assert.equal(db.all('SELECT version FROM schema_version'), [{ version: 1 }, { version: 2 }]);
  db.close();
});

test('commit then reopen: same deployment, identity and generation; a stale base is refused', async () => {
  const dir = tmp();
  let s = openStore(dir);
  const identity = s.identity;
  await put(s, deployment());
  assert.not.ok(await s.commit(0, 5, change(deployment())), 'generation moved on: compare fails');
  await s.close();
  s = openStore(dir);
  assert.equal(deploymentToJson(s.deployment), deployment());
  assert.equal([s.identity, s.generation], [identity, 1]);
  assert.ok(await s.commit(1, 3, { datasets: new Map(), leases: new Map([[D1, null]]) }));
  await s.close();
  s = openStore(dir);
  const { [D1]: _gone, ...leases } = deployment().leases;
  assert.equal(deploymentToJson(s.deployment), { ...deployment(), leases });
  assert.is(s.generation, 3);
  await s.close();
});

test('a second owner is refused with a clear UserError while the first lives', async () => {
  const dir = tmp();
  const s = openStore(dir);
  try {
    // Our own pid counts as "us" so simulate another live process: pid 1 always exists.
    writeFileSync(join(dir, 'control.pid'), '1\n');
    assert.throws(() => openStore(dir), (e: unknown) => e instanceof UserError && /already running.*pid 1/.test(e.message));
  } finally {
    await s.close();
  }
});

test('a stale pid file and a crash-left sqlite lock directory are cleared', async () => {
  const dir = tmp();
  const s0 = openStore(dir);
  await put(s0, deployment());
  await s0.close();
  writeFileSync(join(dir, 'control.pid'), '999999999\n');
  mkdirSync(join(dir, 'control.sqlite.lock'));
  const s = openStore(dir);
  assert.equal(deploymentToJson(s.deployment), deployment());
  assert.equal(readFileSync(join(dir, 'control.pid'), 'utf8').trim(), String(process.pid));
  await s.close();
  assert.not.ok(existsSync(join(dir, 'control.pid')), 'pid file released on close');
});

test('a pid file with garbage in it counts as stale', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'control.pid'), 'garbage');
  const s = openStore(dir);
  assert.is(readFileSync(join(dir, 'control.pid'), 'utf8').trim(), String(process.pid), 'taken over: now it names us');
  await s.close();
  assert.not.ok(existsSync(join(dir, 'control.pid')));
});

test('a database from a newer flocker is refused, not damaged', async () => {
  const dir = tmp();
  await openStore(dir).close();
  const db = new sqlite3.Database(join(dir, 'control.sqlite'));
  db.run('INSERT INTO schema_version (version) VALUES (99)');
  db.close();
  assert.throws(() => openStore(dir), (e: unknown) => e instanceof UserError && /newer/.test(e.message));
});

test('kill -9 during a stream of saves loses no committed save and leaves a database that opens', async () => {
  const dir = tmp();
  const script = `
    import { openStore } from ${JSON.stringify(new URL('../../src/store/sqlite.ts', import.meta.url).pathname)};
    const s = openStore(process.argv[1]);
    for (let i = 0; ; i++) {
      const id = 'cccccccc-0000-4000-8000-' + String(i).padStart(12, '0');
      const d = { datasetId: id, primary: 'n', deleted: false, maximumSize: null, metadata: {} };
      await s.commit(s.generation, s.generation + 1, { datasets: new Map([[id, d]]), leases: new Map() });
      process.stdout.write(id + '\\n');
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (out.split('\n').length > 200) {
        clearInterval(check);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
  });
  await new Promise((r) => child.once('exit', r));
  const acknowledged = out.split('\n').filter((l) => l.length === 36);
  const s = openStore(dir);
  const loaded = s.deployment;
  await s.close();
  for (const id of acknowledged) assert.ok(loaded.datasets.get(id), `acknowledged ${id} present`);
  assert.ok(loaded.datasets.size >= acknowledged.length);
});

test.run();
