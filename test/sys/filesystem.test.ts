// Probing for a filesystem, on image files as the loop devices show them (the probe reads the
// same bytes from a file as from the device over it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasFilesystem, mkfsExt4 } from '../../src/sys/filesystem.js';

function withImage(f: (image: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flocker-fs-'));
    try {
      const image = join(dir, 'volume.img');
      writeFileSync(image, '');
      truncateSync(image, 16 << 20);
      await f(image);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('a fresh sparse file holds no filesystem', withImage(async (image) => {
  assert.is(await hasFilesystem(image), false);
}));

test('an ext4 made by mkfsExt4 is recognised from its superblock, with no blkid spawned', withImage(async (image) => {
  await mkfsExt4(image, { zeroed: true });
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent'; // a spawned blkid would fail: "command not found"
  try {
    assert.is(await hasFilesystem(image), true);
  } finally {
    process.env.PATH = path;
  }
}));

test('a signature that is not ext4 is still recognised (by blkid), so it is never formatted over', withImage(async (image) => {
  execFileSync('mkswap', [image], { stdio: 'ignore' });
  assert.is(await hasFilesystem(image), true);
}));

test.run();
