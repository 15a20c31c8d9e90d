// One contract for both ways of making the pool's calls: same results, same errno failures, and
// every failure a rejection (never a throw at the call), so a backend cannot tell them apart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { directFs, poolFs, threadedFs, type PoolFs } from '../../src/backends/pool-fs.js';

async function code(p: () => Promise<unknown>): Promise<string | undefined> {
  let promise: Promise<unknown>;
  try {
    promise = p();
  } catch (e) {
    return `threw at the call: ${String(e)}`;
  }
  try {
    await promise;
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
}

for (const fs of [directFs, threadedFs] as PoolFs[]) {
  test(`${fs.mode}: files, links and directories behave as the kernel says`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-fs-'));
    try {
      const f = join(dir, 'f');
      assert.is(await code(() => fs.stat(f)), 'ENOENT');
      assert.is(await code(() => fs.readText(f)), 'ENOENT');
      await fs.writeText(f, 'one\n', { exclusive: true });
      assert.is(await code(() => fs.writeText(f, 'two\n', { exclusive: true })), 'EEXIST');
      assert.is(await fs.readText(f), 'one\n');
      await fs.writeText(f, 'two\n');
      assert.is(await fs.readText(f), 'two\n');
      await fs.link(f, join(dir, 'g'));
      assert.is(await code(() => fs.link(f, join(dir, 'g'))), 'EEXIST');
      assert.is((await fs.stat(join(dir, 'g'))).ino, (await fs.stat(f)).ino);
      await fs.symlink(f, join(dir, 's'));
      assert.ok((await fs.lstat(join(dir, 's'))).isSymbolicLink());
      assert.is(await fs.readlink(join(dir, 's')), f);
      assert.is(await fs.realpath(join(dir, 's')), await fs.realpath(f));
      await fs.truncate(f, 4096);
      assert.is((await fs.stat(f)).size, 4096);
      await fs.chmod(f, 0o600);
      assert.is((await fs.stat(f)).mode & 0o777, 0o600);
      await fs.rename(f, join(dir, 'h'));
      assert.is(await code(() => fs.unlink(f)), 'ENOENT');
      await fs.mkdir(join(dir, 'a', 'b'), { recursive: true });
      await fs.mkdir(join(dir, 'a', 'b'), { recursive: true });
      assert.is(await code(() => fs.mkdir(join(dir, 'a'))), 'EEXIST');
      const t = await fs.mkdtemp(join(dir, 'stage-'));
      assert.ok(t.startsWith(join(dir, 'stage-')));
      assert.is(await code(() => fs.rmdir(join(dir, 'a'))), 'ENOTEMPTY');
      assert.equal((await fs.readdir(dir)).sort(), ['a', 'g', 'h', 's', t.slice(dir.length + 1)].sort());
      await fs.removeAll(join(dir, 'a'));
      await fs.removeAll(join(dir, 'a'));
      assert.is(await code(() => fs.access(join(dir, 'a'), 0)), 'ENOENT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a pool on a local filesystem is used directly; anything else, or nothing, through the thread pool', () => {
  assert.is(poolFs(tmpdir()).mode, 'direct', 'the test machine keeps /tmp on a local filesystem');
  // procfs stands in for a filesystem not known to be local (NFS, FUSE, …): none can be mounted here.
  assert.is(poolFs('/proc').mode, 'threaded');
  assert.is(poolFs(join(tmpdir(), 'no-such-pool-here')).mode, 'threaded');
});

test.run();
