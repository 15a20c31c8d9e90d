import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LoopbackBackend } from '../../src/backends/loopback.js';
import { asDatasetId } from '../../src/model/ids.js';
import { detachLoop, listLoops } from '../../src/sys/losetup.js';
import { backendContract, cleanupUnder, type ContractNodes } from '../contracts/backend-contract.js';
import { skipSuite } from '../support/skip.js';

async function nodes(): Promise<ContractNodes & { poolRoot: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'flocker-loop-'));
  const mk = (id: string) => new LoopbackBackend({ rootPath: join(dir, 'pool'), computeInstanceId: id, allocationUnit: 1024 * 1024 });
  const backend = mk('node-a');
  return {
    backend,
    poolRoot: join(dir, 'pool'),
    other: mk('node-b'),
    mountRoot: join(dir, 'a'),
    otherMountRoot: join(dir, 'b'),
    reboot: async () => {
      for (const m of (await backend.listMounts(join(dir, 'a'))).keys()) await backend.unmount(m);
      for (const l of await listLoops()) if (l.backingFile.startsWith(dir + '/')) await detachLoop(l.device);
    },
    cleanup: () => cleanupUnder(dir),
  };
}

const root = process.getuid?.() === 0;
if (root) backendContract('loopback', nodes);
else skipSuite('loopback: needs root (losetup and mount)');

test('loopback: a fresh filesystem is open to all, its size is enforced, and a mounted volume cannot be detached', async () => {
  if (!root) return;
  const n = await nodes();
  try {
    const d = asDatasetId(randomUUID());
    const v = await n.backend.createVolume(d, 8 * 1024 * 1024);
    await n.backend.attachVolume(v.volumeId, n.backend.computeInstanceId());
    const dev = await n.backend.devicePath(v.volumeId);
    assert.match(dev, /^\/dev\/loop\d+$/);
    assert.is(await n.backend.hasFilesystem(dev), false);
    await n.backend.createFilesystem(dev);
    assert.is(await n.backend.hasFilesystem(dev), true);
    const mp = join(n.mountRoot, d);
    await n.backend.mount(dev, mp);
    assert.equal(await readdir(mp), []);
    assert.is((await stat(mp)).mode & 0o777, 0o777);
    assert.is((await stat(n.mountRoot)).mode & 0o777, 0o700);
    const err = await writeFile(join(mp, 'big'), Buffer.alloc(9 * 1024 * 1024)).catch((e: NodeJS.ErrnoException) => e);
    assert.is(err instanceof Error && 'code' in err ? err.code : err, 'ENOSPC');
    const busy = await n.backend.detachVolume(v.volumeId).catch((e: Error) => e);
    assert.instance(busy, Error);
    assert.match(String(busy), 'still mounted');
    assert.is(await n.backend.devicePath(v.volumeId), dev, 'refused detach left the device alone');
  } finally {
    await n.cleanup();
  }
});

test('loopback: a big volume stays sparse through mkfs and mount', async () => {
  if (!root) return;
  const n = await nodes();
  try {
    const d = asDatasetId(randomUUID());
    const v = await n.backend.createVolume(d, 20 * 1024 ** 3);
    await n.backend.attachVolume(v.volumeId, n.backend.computeInstanceId());
    const dev = await n.backend.devicePath(v.volumeId);
    await n.backend.createFilesystem(dev);
    await n.backend.mount(dev, join(n.mountRoot, d));
    const file = join(n.poolRoot, 'attached', n.backend.computeInstanceId(), `${v.volumeId}_${v.size}`);
    const used = (await stat(file)).blocks * 512;
    assert.ok(used < 64 * 1024 * 1024, `20 GiB volume uses ${used} bytes of disk`);
  } finally {
    await n.cleanup();
  }
});

test.run();
