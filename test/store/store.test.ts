import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import sqlite3 from 'node-sqlite3-wasm';
import { openStore } from '../../src/store/store.js';
import type { Deployment } from '../../src/model/configuration.js';
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

function deployment(): Deployment {
  return {
    datasets: {
      [D1]: { datasetId: D1, primary: N, deleted: false, maximumSize: null, metadata: { name: 'one' } },
      [D2]: { datasetId: D2, primary: N, deleted: true, maximumSize: 67108864, metadata: {} },
    },
    leases: { [D1]: { datasetId: D1, nodeId: N, expiresAt: null } },
  };
}

test('a fresh store is empty and at the latest schema version', () => {
  const dir = tmp();
  const s = openStore(dir);
  assert.equal(s.load(), { datasets: {}, leases: {} });
  s.close();
  const db = new sqlite3.Database(join(dir, 'control.sqlite'));
  assert.equal(db.all('SELECT version FROM schema_version'), [{ version: 1 }]);
  db.close();
});

test('save then reopen returns the same deployment; an unchanged save writes nothing', () => {
  const dir = tmp();
  let s = openStore(dir);
  s.load();
  assert.ok(s.save(deployment()));
  assert.not.ok(s.save(deployment()), 'identical configuration is not rewritten');
  s.close();
  s = openStore(dir);
  assert.equal(s.load(), deployment());
  assert.not.ok(s.save(deployment()));
  const { [D1]: _gone, ...leases } = deployment().leases;
  const next = { ...deployment(), leases };
  assert.ok(s.save(next));
  s.close();
  s = openStore(dir);
  assert.equal(s.load(), next);
  s.close();
});

test('a second owner is refused with a clear UserError while the first lives', () => {
  const dir = tmp();
  const s = openStore(dir);
  try {
    // Our own pid counts as "us" so simulate another live process: pid 1 always exists.
    writeFileSync(join(dir, 'control.pid'), '1\n');
    assert.throws(() => openStore(dir), (e: unknown) => e instanceof UserError && /already running.*pid 1/.test(e.message));
  } finally {
    s.close();
  }
});

test('a stale pid file and a crash-left sqlite lock directory are cleared', () => {
  const dir = tmp();
  const s0 = openStore(dir);
  s0.load();
  s0.save(deployment());
  s0.close();
  writeFileSync(join(dir, 'control.pid'), '999999999\n');
  mkdirSync(join(dir, 'control.sqlite.lock'));
  const s = openStore(dir);
  assert.equal(s.load(), deployment());
  assert.equal(readFileSync(join(dir, 'control.pid'), 'utf8').trim(), String(process.pid));
  s.close();
  assert.not.ok(existsSync(join(dir, 'control.pid')), 'pid file released on close');
});

test('a pid file with garbage in it counts as stale', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'control.pid'), 'garbage');
  const s = openStore(dir);
  assert.is(readFileSync(join(dir, 'control.pid'), 'utf8').trim(), String(process.pid), 'taken over: now it names us');
  assert.equal(s.load(), { datasets: {}, leases: {} });
  s.close();
  assert.not.ok(existsSync(join(dir, 'control.pid')));
});

test('a database from a newer flocker is refused, not damaged', () => {
  const dir = tmp();
  openStore(dir).close();
  const db = new sqlite3.Database(join(dir, 'control.sqlite'));
  db.run('INSERT INTO schema_version (version) VALUES (99)');
  db.close();
  assert.throws(() => openStore(dir), (e: unknown) => e instanceof UserError && /newer/.test(e.message));
});

test('kill -9 during a stream of saves loses no committed save and leaves a database that opens', async () => {
  const dir = tmp();
  const script = `
    import { openStore } from ${JSON.stringify(new URL('../../src/store/store.ts', import.meta.url).pathname)};
    const s = openStore(process.argv[1]);
    let d = s.load();
    for (let i = 0; ; i++) {
      const id = 'cccccccc-0000-4000-8000-' + String(i).padStart(12, '0');
      d = { ...d, datasets: { ...d.datasets, [id]: { datasetId: id, primary: 'n', deleted: false, maximumSize: null, metadata: {} } } };
      s.save(d);
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
  const loaded = s.load();
  s.close();
  for (const id of acknowledged) assert.ok(loaded.datasets[id], `acknowledged ${id} present`);
  assert.ok(Object.keys(loaded.datasets).length >= acknowledged.length);
});

test.run();
