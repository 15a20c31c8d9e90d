// Filesystems on block devices: probe with blkid, make ext4 with mkfs.
import { open } from 'node:fs/promises';
import { runResult, run } from './run.js';

/** Where ext2/3/4 keep their magic number: superblock at 1024, s_magic 56 bytes in, little-endian. */
const EXT_MAGIC_OFFSET = 1024 + 56;
const EXT_MAGIC = 0xef53;

/** True if the device starts with an ext2/3/4 superblock; a read, no process. */
async function hasExtSuperblock(device: string): Promise<boolean> {
  const fh = await open(device, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, EXT_MAGIC_OFFSET);
    return bytesRead === 2 && buf.readUInt16LE(0) === EXT_MAGIC;
  } finally {
    await fh.close();
  }
}

/**
 * True if the device holds any filesystem (or other signature). Our volumes carry ext4, so that
 * is looked for first with one read; only a device without it is probed with blkid, which knows
 * every signature: a "no" must be certain, since it leads to mkfs.
 */
export async function hasFilesystem(device: string): Promise<boolean> {
  // A device that cannot be read is an error (blkid would call it empty), never a "no".
  if (await hasExtSuperblock(device)) return true;
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
