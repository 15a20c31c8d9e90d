// Exposing an image file as the user sees a dataset: a loop device carrying ext4, mounted at
// MOUNT_ROOT/<dataset_id>. Shared by the backends that keep one image file per volume
// (loopback, p2p); they differ only in where the files live and who may hold them.
import { dirname, join } from 'node:path';
import { hasFilesystem, mkfsExt4 } from '../sys/filesystem.js';
import { backingFileOf, detachLoop, loopsForFile } from '../sys/losetup.js';
import { listMounts as mountTable, mountAt, mount as sysMount } from '../sys/mounts.js';
import { realOrNull } from './fsutil.js';
import type { PoolFs } from './pool-fs.js';

/** Never formats over an existing filesystem, so calling it twice is harmless. */
export async function createExt4(device: string): Promise<void> {
  if (await hasFilesystem(device)) return;
  // Our devices are sparse files that have never been written, so they read as zeros.
  await mkfsExt4(device, { zeroed: true });
}

/**
 * Mounts the ext4 on `device` at `mountPoint`, idempotently. `mine(backing)` must say whether the
 * file behind the device may be exposed here: a stale device path (the loop device since reused
 * for another file) must never expose someone else's volume.
 */
export async function mountExt4(fs: PoolFs, device: string, mountPoint: string, mine: (backingFile: string) => boolean | Promise<boolean>): Promise<void> {
  const backing = await backingFileOf(device);
  if (backing === null || !(await mine(backing))) {
    throw new Error(`cannot mount ${device}: it is not the loop device of a volume attached here (backed by ${backing ?? 'nothing'})`);
  }
  await fs.mkdir(mountPoint, { recursive: true });
  // As the original: only root may look inside the mount root; each dataset opens itself up.
  await fs.chmod(dirname(mountPoint), 0o700);
  const real = (await realOrNull(fs, mountPoint)) ?? mountPoint;
  const top = await mountAt(real);
  if (top?.source === device) return;
  if (top) throw new Error(`${mountPoint} already has ${top.source} mounted; unmount it first`);
  // The kernel would otherwise zero every inode table in the background, filling the sparse
  // file (about 1.5% of its size); the file already reads as zeros, so that work is wasted.
  await sysMount(device, mountPoint, { type: 'ext4', options: 'noinit_itable' });
  const entries = await fs.readdir(mountPoint);
  if (entries.length === 1 && entries[0] === 'lost+found') {
    // A fresh filesystem: make it usable by whatever uid the container runs as.
    await fs.removeAll(join(mountPoint, 'lost+found'));
    await fs.chmod(mountPoint, 0o777);
  }
}

/** Loop devices mounted directly under `mountRoot`: mount point -> device. */
export async function listLoopMounts(fs: PoolFs, mountRoot: string): Promise<ReadonlyMap<string, string>> {
  const out = new Map<string, string>();
  const realRoot = await realOrNull(fs, mountRoot);
  if (realRoot === null) return out;
  for (const m of await mountTable()) {
    if (dirname(m.mountPoint) === realRoot && m.source.startsWith('/dev/loop')) {
      out.set(join(mountRoot, m.mountPoint.slice(realRoot.length + 1)), m.source);
    }
  }
  return out;
}

/** Detaches every loop device of `file`; refuses while one is mounted. */
export async function releaseLoops(volumeId: string, file: string): Promise<void> {
  const table = await mountTable();
  for (const dev of await loopsForFile(file)) {
    // losetup -d on a mounted device only defers the detach: the file would be handed to
    // another node while this one still writes to it.
    const m = table.find((x) => x.source === dev);
    if (m) throw new Error(`volume ${volumeId} is still mounted at ${m.mountPoint} (${dev}); unmount it before detaching`);
    await detachLoop(dev);
  }
}

/**
 * Finds each volume's loop device, one lookup per volume at a time (two racing callers must not
 * make two devices), remembering the last answer as a hint that is checked before use: discovery
 * asks for every attached volume's device on every pass, and a full lookup reads every loop device.
 */
export class LoopDevices {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly last = new Map<string, string>();

  constructor(
    private readonly lookup: (volumeId: string) => Promise<string>,
    private readonly stillValid: (device: string, volumeId: string) => Promise<boolean>,
  ) {}

  get(volumeId: string): Promise<string> {
    const pending = this.inFlight.get(volumeId);
    if (pending) return pending;
    const p = this.resolve(volumeId).finally(() => this.inFlight.delete(volumeId));
    this.inFlight.set(volumeId, p);
    return p;
  }

  forget(volumeId: string): void {
    this.last.delete(volumeId);
  }

  private async resolve(volumeId: string): Promise<string> {
    const hint = this.last.get(volumeId);
    if (hint !== undefined && (await this.stillValid(hint, volumeId))) return hint;
    const device = await this.lookup(volumeId);
    this.last.set(volumeId, device);
    return device;
  }
}
