import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MountCounts } from '../../src/roles/plugin/mount-counts.js';

const dir = mkdtempSync(join(tmpdir(), 'flocker-counts-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('mounts are counted per Docker ID; the last unmount leaves zero', () => {
  const c = new MountCounts(undefined);
  assert.is(c.add('v', 'D', 'a'), 1);
  assert.is(c.add('v', 'D', 'b'), 2);
  assert.equal(c.remove('v', 'a'), { datasetId: 'D', left: 1 });
  assert.equal(c.remove('v', 'a'), { datasetId: 'D', left: 1 }, 'an ID already unmounted does not count twice');
  assert.equal(c.remove('v', 'b'), { datasetId: 'D', left: 0 });
  assert.is(c.count('v'), 0);
  assert.is(c.remove('v', 'b'), undefined);
});

test('mounts without an ID (old Docker) are counted too', () => {
  const c = new MountCounts(undefined);
  c.add('v', 'D', undefined);
  c.add('v', 'D', undefined);
  assert.equal(c.remove('v', undefined), { datasetId: 'D', left: 1 });
  assert.equal(c.remove('v', undefined), { datasetId: 'D', left: 0 });
});

test('Docker mount IDs named after Object.prototype members are counted like any other, also across a restart', () => {
  const file = join(dir, 'proto', 'plugin-mounts.json');
  const c = new MountCounts(file);
  for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) c.add('v', 'D', id);
  c.add('__proto__', 'E', '__proto__');
  assert.is(c.count('v'), 4, 'every ID counted: a Remove must see the volume in use');
  assert.is(c.count('__proto__'), 1);
  const again = new MountCounts(file);
  assert.is(again.count('v'), 4);
  assert.is(again.count('__proto__'), 1);
  assert.equal(again.remove('v', '__proto__'), { datasetId: 'D', left: 3 });
  assert.equal(again.remove('v', 'constructor'), { datasetId: 'D', left: 2 });
  assert.is(again.count('constructor'), 0);
});

test('counts survive a restart through the state file (0600)', () => {
  const file = join(dir, 'sub', 'plugin-mounts.json');
  const a = new MountCounts(file);
  a.add('v', 'D', 'x');
  a.add('w', 'E', 'y');
  a.remove('w', 'y');
  assert.is(statSync(file).mode & 0o777, 0o600);
  const b = new MountCounts(file);
  assert.is(b.count('v'), 1);
  assert.is(b.count('w'), 0);
  assert.equal(b.remove('v', 'x'), { datasetId: 'D', left: 0 });
});

test('a corrupt state file is ignored, not fatal', () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, '{not json');
  const c = new MountCounts(file);
  assert.is(c.count('v'), 0);
  writeFileSync(file, JSON.stringify({ v: { datasetId: 'D', ids: { a: 'x', b: 2 } }, w: 7 }));
  assert.is(new MountCounts(file).count('v'), 2);
});

test.run();
