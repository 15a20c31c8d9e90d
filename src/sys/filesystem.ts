// Filesystems on block devices: probe with blkid, make ext4 with mkfs.
import { runResult, run } from './run.js';

/** True if blkid recognises any filesystem (or other signature) on the device. */
export async function hasFilesystem(device: string): Promise<boolean> {
  // -p probes the device itself, bypassing blkid's cache which can be stale for loop devices.
  const r = await runResult('blkid', ['-p', device], { okCodes: [2] });
  return r.code === 0;
}

export async function mkfsExt4(device: string): Promise<void> {
  await run('mkfs.ext4', ['-F', '-q', device]);
}
