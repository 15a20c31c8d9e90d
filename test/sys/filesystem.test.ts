// hasFilesystem decides whether mkfs may run, so a "no" must be certain: ext4 is recognised by
// its superblock with one read, every other signature by blkid. Real images, real mkfs.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hasFilesystem } from '../../src/sys/filesystem.js';
import { run } from '../../src/sys/run.js';

const dir = mkdtempSync(join(tmpdir(), 'flocker-fs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, mib = 64): string {
  const f = join(dir, name);
  writeFileSync(f, '');
  truncateSync(f, mib * 1024 * 1024);
  return f;
}

test('a blank image has no filesystem', async () => {
  assert.is(await hasFilesystem(image('blank.img')), false);
});

test('ext4 is recognised', async () => {
  const f = image('ext4.img');
  await run('mkfs.ext4', ['-q', '-F', f]);
  assert.is(await hasFilesystem(f), true);
  // With one read, no process: it holds with blkid out of reach.
  const path = process.env.PATH;
  process.env.PATH = dir;
  try {
    assert.is(await hasFilesystem(f), true);
  } finally {
    process.env.PATH = path;
  }
});

test('a filesystem other than ext4 is recognised too (by blkid): mkfs must never run over it', async () => {
  const f = image('btrfs.img', 128);
  await run('mkfs.btrfs', ['-q', '-f', f]);
  assert.is(await hasFilesystem(f), true);
  const swap = image('swap.img');
  await run('mkswap', [swap]);
  assert.is(await hasFilesystem(swap), true, 'any signature counts, not only filesystems');
});

test('an unreadable device is not taken for an empty one', async () => {
  const e = await hasFilesystem(join(dir, 'absent')).catch((x: unknown) => x);
  assert.instance(e, Error, 'a missing device is an error, never "no filesystem"');
});

test.run();
