// The loopback backend, laid out on disk as the original's (flocker-api.md §4.7):
//   unattached/block-<dataset_id>_<size>             a sparse file of exactly <size> bytes
//   attached/<compute_instance_id>/block-<id>_<size>  the same file while a node holds it
// The file name is the only metadata. Attaching is a rename out of unattached/, which only one
// node can win; the loop device is (re)made on demand, so a reboot that drops it heals itself.
import { join } from 'node:path';
import { asDatasetId, isUuidV4, UUID_SOURCE, type DatasetId } from '../model/ids.js';
import { hasFilesystem } from '../sys/filesystem.js';
import { attachLoop, backingFileOf, loopsForFile } from '../sys/losetup.js';
import { BackendError, type BackendName, type StorageBackend, type Volume } from './backend.js';
import { errno, isSafeName, preparePool, realOrNull, roundUp, sweepStaging, unexpose } from './fsutil.js';
import { createExt4, listLoopMounts, LoopDevices, mountExt4, releaseLoops } from './loop-ext4.js';
import { poolFs, type PoolFs } from './pool-fs.js';

export interface LoopbackBackendOptions {
  readonly rootPath: string;
  readonly computeInstanceId: string;
  readonly allocationUnit: number;
}

const NAME = new RegExp(`^(block-(${UUID_SOURCE}))_(\\d+)$`);

interface Found {
  readonly volume: Volume;
  readonly file: string;
}

export class LoopbackBackend implements StorageBackend {
  readonly name: BackendName = 'loopback';
  readonly needsFilesystem = true;
  private readonly root: string;
  /** Chosen by what the pool is on, again at each scan (pool-fs.ts). */
  private fs: PoolFs;
  private swept = false;

  constructor(private readonly opts: LoopbackBackendOptions) {
    this.root = opts.rootPath;
    this.fs = poolFs(this.root);
  }

  allocationUnit(): number {
    return this.opts.allocationUnit;
  }

  computeInstanceId(): string {
    return this.opts.computeInstanceId;
  }

  private async scan(): Promise<Found[]> {
    // The pool is local to the host, so (like the original) it is made if missing.
    await preparePool(this.fs, this.root, ['unattached', 'attached', 'tmp'], true);
    this.fs = poolFs(this.root);
    if (!this.swept) {
      this.swept = true;
      await sweepStaging(this.fs, join(this.root, 'tmp'));
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
    add(unattached, await this.fs.readdir(unattached), null);
    const attached = join(this.root, 'attached');
    for (const inst of await this.fs.readdir(attached)) {
      const dir = join(attached, inst);
      add(dir, await this.fs.readdir(dir).catch(() => [] as string[]), inst);
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

  volumeIdFor(datasetId: DatasetId): string {
    return `block-${datasetId.toLowerCase()}`;
  }

  async createVolume(datasetId: DatasetId, size: number): Promise<Volume> {
    if (!isUuidV4(datasetId)) throw new RangeError(`not a dataset id: ${datasetId}`);
    const volumeId = this.volumeIdFor(datasetId);
    const rounded = roundUp(size, this.opts.allocationUnit);
    const exists = () => new BackendError('already-exists', volumeId, `dataset ${datasetId} already has volume ${volumeId}`);
    if ((await this.scan()).some((f) => f.volume.volumeId === volumeId)) throw exists();
    // Sized in staging, then linked into place: the name (which carries the size) never lies.
    const stage = await this.fs.mkdtemp(join(this.root, 'tmp', 'create-'));
    const tmp = join(stage, 'f');
    try {
      await this.fs.writeText(tmp, '', { exclusive: true });
      await this.fs.truncate(tmp, rounded);
      await this.fs.link(tmp, join(this.root, 'unattached', `${volumeId}_${rounded}`));
    } catch (e) {
      if (errno(e) === 'EEXIST') throw exists();
      throw e;
    } finally {
      await this.fs.removeAll(stage);
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
      await this.fs.unlink(f.file);
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
      await this.fs.mkdir(dir, { recursive: true });
      try {
        await this.fs.rename(f.file, join(dir, `${volumeId}_${f.volume.size}`));
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
      await this.fs.rename(f.file, join(this.root, 'unattached', `${volumeId}_${f.volume.size}`));
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new BackendError('unattached', volumeId, `volume ${volumeId} was detached concurrently`);
      throw e;
    }
  }

  private async releaseLoops(volumeId: string, file: string): Promise<void> {
    this.devices.forget(volumeId);
    await releaseLoops(volumeId, file);
  }

  private readonly devices = new LoopDevices(
    (volumeId) => this.findOrMakeLoop(volumeId),
    (device, volumeId) => this.backsVolumeHere(device, volumeId),
  );

  async devicePath(volumeId: string): Promise<string> {
    return this.devices.get(volumeId);
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
    return join((await realOrNull(this.fs, this.root)) ?? this.root, 'attached', this.computeInstanceId()) + '/';
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

  async createFilesystem(device: string): Promise<void> {
    await createExt4(device);
  }

  async mount(device: string, mountPoint: string): Promise<void> {
    const mine = await this.attachedHereDir();
    await mountExt4(this.fs, device, mountPoint, (backing) => backing.startsWith(mine));
  }

  async unmount(mountPoint: string): Promise<void> {
    await unexpose(this.fs, mountPoint);
  }

  async listMounts(mountRoot: string): Promise<ReadonlyMap<string, string>> {
    return listLoopMounts(this.fs, mountRoot);
  }
}
