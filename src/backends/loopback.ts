// The loopback backend, laid out on disk as the original's (flocker-api.md §4.7):
//   unattached/block-<dataset_id>_<size>             a sparse file of exactly <size> bytes
//   attached/<compute_instance_id>/block-<id>_<size>  the same file while a node holds it
// The file name is the only metadata. Attaching is a rename out of unattached/, which only one
// node can win; the loop device is (re)made on demand, so a reboot that drops it heals itself.
import { chmod, link, mkdir, mkdtemp, readdir, rename, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BackendName } from '../config/agent-config.js';
import { asDatasetId, isUuidV4, type DatasetId } from '../model/ids.js';
import { hasFilesystem, mkfsExt4 } from '../sys/filesystem.js';
import { attachLoop, backingFileOf, detachLoop, loopsForFile } from '../sys/losetup.js';
import { listMounts as mountTable, mountAt, mount as sysMount } from '../sys/mounts.js';
import { BackendError, type StorageBackend, type Volume } from './backend.js';
import { errno, isSafeName, preparePool, realOrNull, roundUp, sweepStaging, unexpose } from './fsutil.js';

export interface LoopbackBackendOptions {
  readonly rootPath: string;
  readonly computeInstanceId: string;
  readonly allocationUnit: number;
}

const NAME = /^(block-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))_(\d+)$/;

interface Found {
  readonly volume: Volume;
  readonly file: string;
}

export class LoopbackBackend implements StorageBackend {
  readonly name: BackendName = 'loopback';
  readonly needsFilesystem = true;
  private readonly root: string;
  private swept = false;

  constructor(private readonly opts: LoopbackBackendOptions) {
    this.root = opts.rootPath;
  }

  allocationUnit(): number {
    return this.opts.allocationUnit;
  }

  computeInstanceId(): string {
    return this.opts.computeInstanceId;
  }

  private async scan(): Promise<Found[]> {
    // The pool is local to the host, so (like the original) it is made if missing.
    await preparePool(this.root, ['unattached', 'attached', 'tmp'], true);
    if (!this.swept) {
      this.swept = true;
      await sweepStaging(join(this.root, 'tmp'));
    }
    const found: Found[] = [];
    const add = (dir: string, names: readonly string[], attachedTo: string | null) => {
      for (const n of names) {
        const m = NAME.exec(n);
        if (!m) continue;
        const volume = { volumeId: m[1] as string, datasetId: asDatasetId(m[2] as string), size: Number(m[3]), attachedTo };
        found.push({ volume, file: join(dir, n) });
      }
    };
    const unattached = join(this.root, 'unattached');
    add(unattached, await readdir(unattached), null);
    const attached = join(this.root, 'attached');
    for (const inst of await readdir(attached)) {
      const dir = join(attached, inst);
      add(dir, await readdir(dir).catch(() => [] as string[]), inst);
    }
    return found.sort((a, b) => a.volume.volumeId.localeCompare(b.volume.volumeId));
  }

  private async find(volumeId: string): Promise<Found> {
    const f = (await this.scan()).find((x) => x.volume.volumeId === volumeId);
    if (!f) throw new BackendError('unknown-volume', volumeId, `no volume ${volumeId} in pool ${this.root}`);
    return f;
  }

  async listVolumes(): Promise<readonly Volume[]> {
    return (await this.scan()).map((f) => f.volume);
  }

  async createVolume(datasetId: DatasetId, size: number): Promise<Volume> {
    if (!isUuidV4(datasetId)) throw new RangeError(`not a dataset id: ${datasetId}`);
    const volumeId = `block-${datasetId.toLowerCase()}`;
    const rounded = roundUp(size, this.opts.allocationUnit);
    const exists = () => new BackendError('already-exists', volumeId, `dataset ${datasetId} already has volume ${volumeId}`);
    if ((await this.scan()).some((f) => f.volume.volumeId === volumeId)) throw exists();
    // Sized in staging, then linked into place: the name (which carries the size) never lies.
    const stage = await mkdtemp(join(this.root, 'tmp', 'create-'));
    const tmp = join(stage, 'f');
    try {
      await writeFile(tmp, '', { flag: 'wx' });
      await truncate(tmp, rounded);
      await link(tmp, join(this.root, 'unattached', `${volumeId}_${rounded}`));
    } catch (e) {
      if (errno(e) === 'EEXIST') throw exists();
      throw e;
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
    return { volumeId, datasetId: asDatasetId(datasetId), size: rounded, attachedTo: null };
  }

  async destroyVolume(volumeId: string): Promise<void> {
    const f = await this.find(volumeId);
    if (f.volume.attachedTo !== null) {
      throw new BackendError('already-attached', volumeId, `volume ${volumeId} is attached to ${f.volume.attachedTo}; detach it before destroying`);
    }
    // A stray loop device would keep the deleted file's blocks alive and in use.
    await this.releaseLoops(volumeId, f.file);
    try {
      await unlink(f.file);
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new BackendError('unknown-volume', volumeId, `volume ${volumeId} vanished while destroying`);
      throw e;
    }
  }

  async attachVolume(volumeId: string, to: string): Promise<Volume> {
    if (!isSafeName(to)) throw new RangeError(`not a compute instance id: ${to}`);
    const f = await this.find(volumeId);
    const refuse = (holder: string) =>
      new BackendError('already-attached', volumeId, `volume ${volumeId} is attached to ${holder}; it must be detached there first`);
    let attached: Volume = f.volume;
    if (f.volume.attachedTo === null) {
      const dir = join(this.root, 'attached', to);
      await mkdir(dir, { recursive: true });
      try {
        await rename(f.file, join(dir, `${volumeId}_${f.volume.size}`));
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw e;
        // Someone else moved it first: report who.
        const now = await this.find(volumeId);
        if (now.volume.attachedTo !== to) throw refuse(now.volume.attachedTo ?? 'another node');
      }
      attached = { ...f.volume, attachedTo: to };
    } else if (f.volume.attachedTo !== to) {
      throw refuse(f.volume.attachedTo);
    }
    if (to === this.computeInstanceId()) await this.devicePath(volumeId);
    return attached;
  }

  async detachVolume(volumeId: string): Promise<void> {
    const f = await this.find(volumeId);
    if (f.volume.attachedTo === null) throw new BackendError('unattached', volumeId, `volume ${volumeId} is not attached`);
    await this.releaseLoops(volumeId, f.file);
    try {
      await rename(f.file, join(this.root, 'unattached', `${volumeId}_${f.volume.size}`));
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new BackendError('unattached', volumeId, `volume ${volumeId} was detached concurrently`);
      throw e;
    }
  }

  private async releaseLoops(volumeId: string, file: string): Promise<void> {
    this.lastDevice.delete(volumeId);
    const table = await mountTable();
    for (const dev of await loopsForFile(file)) {
      // losetup -d on a mounted device only defers the detach: the file would be handed to
      // another node while this one still writes to it.
      const m = table.find((x) => x.source === dev);
      if (m) throw new Error(`volume ${volumeId} is still mounted at ${m.mountPoint} (${dev}); unmount it before detaching`);
      await detachLoop(dev);
    }
  }

  /** One losetup per volume at a time in this process, or two racing callers make two devices. */
  private readonly inFlight = new Map<string, Promise<string>>();
  /**
   * The loop device last found per volume: a hint only, checked against the kernel before use.
   * Discovery asks for every attached volume's device on every pass; without it each ask would
   * rescan the pool and read every loop device's backing file.
   */
  private readonly lastDevice = new Map<string, string>();

  async devicePath(volumeId: string): Promise<string> {
    const pending = this.inFlight.get(volumeId);
    if (pending) return pending;
    const p = this.loopFor(volumeId).finally(() => this.inFlight.delete(volumeId));
    this.inFlight.set(volumeId, p);
    return p;
  }

  private async loopFor(volumeId: string): Promise<string> {
    const hint = this.lastDevice.get(volumeId);
    if (hint !== undefined && (await this.backsVolumeHere(hint, volumeId))) return hint;
    const device = await this.findOrMakeLoop(volumeId);
    this.lastDevice.set(volumeId, device);
    return device;
  }

  private async findOrMakeLoop(volumeId: string): Promise<string> {
    const f = await this.find(volumeId);
    const holder = f.volume.attachedTo;
    if (holder === null) throw new BackendError('unattached', volumeId, `volume ${volumeId} is not attached`);
    if (holder !== this.computeInstanceId()) {
      throw new BackendError('already-attached', volumeId, `volume ${volumeId} is attached to ${holder}, not here`);
    }
    const existing = await loopsForFile(f.file);
    if (existing[0] !== undefined) return existing[0];
    return attachLoop(f.file);
  }

  /** As the kernel names files: where the files of volumes attached here live, with a trailing slash. */
  private async attachedHereDir(): Promise<string> {
    return join((await realOrNull(this.root)) ?? this.root, 'attached', this.computeInstanceId()) + '/';
  }

  /** True if `device` is backed by this volume's file, and that file is attached here. */
  private async backsVolumeHere(device: string, volumeId: string): Promise<boolean> {
    const backing = await backingFileOf(device);
    const prefix = (await this.attachedHereDir()) + volumeId + '_';
    return backing !== null && backing.startsWith(prefix) && /^\d+$/.test(backing.slice(prefix.length));
  }

  async hasFilesystem(device: string): Promise<boolean> {
    return hasFilesystem(device);
  }

  /** Never formats over an existing filesystem, so calling it twice is harmless. */
  async createFilesystem(device: string): Promise<void> {
    if (await hasFilesystem(device)) return;
    // Our devices are sparse files that have never been written, so they read as zeros.
    await mkfsExt4(device, { zeroed: true });
  }

  async mount(device: string, mountPoint: string): Promise<void> {
    // Only a device backed by a file attached here may be mounted: a stale device path (the
    // loop device since reused for another file) must never expose someone else's volume.
    const mine = await this.attachedHereDir();
    const backing = await backingFileOf(device);
    if (backing === null || !backing.startsWith(mine)) {
      throw new Error(`cannot mount ${device}: it is not the loop device of a volume attached here (backed by ${backing ?? 'nothing'})`);
    }
    await mkdir(mountPoint, { recursive: true });
    // As the original: only root may look inside the mount root; each dataset opens itself up.
    await chmod(dirname(mountPoint), 0o700);
    const real = (await realOrNull(mountPoint)) ?? mountPoint;
    const top = await mountAt(real);
    if (top?.source === device) return;
    if (top) throw new Error(`${mountPoint} already has ${top.source} mounted; unmount it first`);
    // The kernel would otherwise zero every inode table in the background, filling the sparse
    // file (about 1.5% of its size); the file already reads as zeros, so that work is wasted.
    await sysMount(device, mountPoint, { type: 'ext4', options: 'noinit_itable' });
    const entries = await readdir(mountPoint);
    if (entries.length === 1 && entries[0] === 'lost+found') {
      // A fresh filesystem: make it usable by whatever uid the container runs as.
      await rm(join(mountPoint, 'lost+found'), { recursive: true });
      await chmod(mountPoint, 0o777);
    }
  }

  async unmount(mountPoint: string): Promise<void> {
    await unexpose(mountPoint);
  }

  async listMounts(mountRoot: string): Promise<ReadonlyMap<string, string>> {
    const out = new Map<string, string>();
    const realRoot = await realOrNull(mountRoot);
    if (realRoot === null) return out;
    for (const m of await mountTable()) {
      if (dirname(m.mountPoint) === realRoot && m.source.startsWith('/dev/loop')) {
        out.set(join(mountRoot, m.mountPoint.slice(realRoot.length + 1)), m.source);
      }
    }
    return out;
  }
}
