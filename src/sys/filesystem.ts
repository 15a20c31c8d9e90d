// Filesystems on block devices: probe (our own ext4 by its superblock, anything else with blkid),
// make ext4 with mkfs.
import { open } from 'node:fs/promises';
import { runResult, run } from './run.js';

/** ext2/3/4's magic number, 0xEF53, little-endian at byte 56 of the superblock, which starts at 1024. */
const EXT_MAGIC = 0xef53;
const EXT_MAGIC_OFFSET = 1024 + 56;

async function hasExtSuperblock(device: string): Promise<boolean> {
  const handle = await open(device, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, EXT_MAGIC_OFFSET);
    return bytesRead === 2 && magic.readUInt16LE(0) === EXT_MAGIC;
  } finally {
    await handle.close();
  }
}

/**
 * True if the device holds any filesystem (or other signature blkid knows). The agent asks on
 * every move, about an ext4 it made: that answer is read from the superblock, with no process
 * spawned. Any other answer comes from blkid, which knows every signature: a wrong "no" could
 * lead to mkfs over data.
 */
export async function hasFilesystem(device: string): Promise<boolean> {
  if (await hasExtSuperblock(device).catch(() => false)) return true;
  // -p probes the device itself, bypassing blkid's cache which can be stale for loop devices.
  const r = await runResult('blkid', ['-p', device], { okCodes: [2] });
  return r.code === 0;
}

/**
 * `zeroed`: the device is known to read as zeros (a fresh sparse file), so mkfs need not write
 * zeros over the journal; otherwise every volume would cost hundreds of MB of real disk at once.
 */
export async function mkfsExt4(device: string, opts: { zeroed?: boolean } = {}): Promise<void> {
  const extended = opts.zeroed ? ['-E', 'lazy_itable_init=1,lazy_journal_init=1'] : [];
  await run('mkfs.ext4', ['-F', '-q', ...extended, device]);
}

/** syncfs(2) on the filesystem holding `path`: its dirty data reaches the device below. */
export async function syncFilesystem(path: string): Promise<void> {
  await run('sync', ['-f', path]);
}
