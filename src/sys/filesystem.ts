// Filesystems on block devices: probe with blkid, make ext4 with mkfs.
import { runResult, run } from './run.js';

/** True if blkid recognises any filesystem (or other signature) on the device. */
export async function hasFilesystem(device: string): Promise<boolean> {
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
