// The p2p backend: each node's volumes are the owner copies in its own btrfs pool (pool.ts).
// To the user a dataset is what loopback gives (ext4 of maximum_size on a loop device, mounted
// at MOUNT_ROOT/<id>); moving it between nodes is the transfer layer's, through `pool`.
// The pool is private, so "attached" only ever means "loop-attached here": nobody else can hold it.
import { stat } from 'node:fs/promises';
import { asDatasetId, isUuidV4, UUID_SOURCE, type DatasetId } from '../../model/ids.js';
import { hasFilesystem } from '../../sys/filesystem.js';
import { attachLoop, backingFileOf, loopsForFile } from '../../sys/losetup.js';
import { BackendError, type BackendName, type StorageBackend, type Volume } from '../backend.js';
import { isSafeName, roundUp, unexpose } from '../fsutil.js';
import { createExt4, listLoopMounts, LoopDevices, mountExt4, releaseLoops } from '../loop-ext4.js';
import { threadedFs } from '../pool-fs.js';
import { BtrfsPool } from './pool.js';
import type { PoolOptions } from './pool-filesystem.js';

export interface P2PBackendOptions extends PoolOptions {
  readonly computeInstanceId: string;
  readonly allocationUnit: number;
}

const VOLUME_ID = new RegExp(`^p2p-(${UUID_SOURCE})$`);

export class P2PBackend implements StorageBackend {
  readonly name: BackendName = 'p2p';
  readonly needsFilesystem = true;
  /** The node's pool, for the transfer layer (a SnapshotPool). */
  readonly pool: BtrfsPool;

  constructor(private readonly opts: P2PBackendOptions) {
    this.pool = new BtrfsPool(opts);
  }

  allocationUnit(): number {
    return this.opts.allocationUnit;
  }

  computeInstanceId(): string {
    return this.opts.computeInstanceId;
  }

  async listVolumes(): Promise<readonly Volume[]> {
    const ids = await this.pool.owned();
    const attached = await this.pool.attachedImages();
    const out: Volume[] = [];
    for (const id of ids) {
      const image = this.pool.realImagePath(id);
      const size = await stat(image).then((s) => s.size, () => null);
      // A live copy without its image is half-made (or half-destroyed): not a volume.
      if (size === null) continue;
      out.push({ volumeId: volumeIdOf(id), datasetId: id, size, attachedTo: attached.has(image) ? this.computeInstanceId() : null });
    }
    return out.sort((a, b) => a.volumeId.localeCompare(b.volumeId));
  }

  private async find(volumeId: string): Promise<Volume> {
    const v = (await this.listVolumes()).find((x) => x.volumeId === volumeId);
    if (v) return v;
    const id = VOLUME_ID.exec(volumeId)?.[1];
    const handed = id !== undefined ? await this.pool.handedOff(asDatasetId(id)) : null;
    const why = handed ? ` (its copy here was handed off to ${handed.to})` : '';
    throw new BackendError('unknown-volume', volumeId, `no volume ${volumeId} in pool ${this.pool.dir}${why}`);
  }

  volumeIdFor(datasetId: DatasetId): string {
    return volumeIdOf(datasetId);
  }

  async createVolume(datasetId: DatasetId, size: number): Promise<Volume> {
    if (!isUuidV4(datasetId)) throw new RangeError(`not a dataset id: ${datasetId}`);
    const id = asDatasetId(datasetId);
    const rounded = roundUp(size, this.opts.allocationUnit);
    await this.pool.createLive(id, rounded);
    return { volumeId: volumeIdOf(id), datasetId: id, size: rounded, attachedTo: null };
  }

  async destroyVolume(volumeId: string): Promise<void> {
    const v = await this.find(volumeId);
    if (v.attachedTo !== null) {
      throw new BackendError('already-attached', volumeId, `volume ${volumeId} is attached here; detach it before destroying`);
    }
    await this.pool.destroyAll(v.datasetId);
  }

  async attachVolume(volumeId: string, to: string): Promise<Volume> {
    if (!isSafeName(to)) throw new RangeError(`not a compute instance id: ${to}`);
    const v = await this.find(volumeId);
    if (to !== this.computeInstanceId()) {
      throw new BackendError('unknown-volume', volumeId, `volume ${volumeId} is in the private pool of ${this.computeInstanceId()}; ${to} cannot attach it (move the dataset instead)`);
    }
    await this.devices.get(volumeId);
    return { ...v, attachedTo: to };
  }

  async detachVolume(volumeId: string): Promise<void> {
    const v = await this.find(volumeId);
    if (v.attachedTo === null) throw new BackendError('unattached', volumeId, `volume ${volumeId} is not attached`);
    this.devices.forget(volumeId);
    const image = this.pool.imagePath(v.datasetId);
    await releaseLoops(volumeId, image);
    // losetup -d only defers the detach while someone (udev probing it) has the device open.
    // Here "detached" is the truth the hand-off relies on, so wait until the device is gone.
    const deadline = Date.now() + 10_000;
    while ((await loopsForFile(image)).length > 0) {
      if (Date.now() > deadline) throw new Error(`volume ${volumeId}: its loop device is still held open 10 s after detaching; try again`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Attaching is making the loop device: one at a time per volume, or two callers make two. */
  private readonly devices = new LoopDevices(
    async (volumeId) => {
      const v = await this.find(volumeId);
      const image = this.pool.imagePath(v.datasetId);
      return (await loopsForFile(image))[0] ?? attachLoop(image);
    },
    async (device, volumeId) => {
      const id = VOLUME_ID.exec(volumeId)?.[1];
      return id !== undefined && (await backingFileOf(device)) === this.pool.realImagePath(asDatasetId(id));
    },
  );

  async devicePath(volumeId: string): Promise<string> {
    const v = await this.find(volumeId);
    if (v.attachedTo === null) throw new BackendError('unattached', volumeId, `volume ${volumeId} is not attached`);
    return this.devices.get(volumeId);
  }

  async hasFilesystem(device: string): Promise<boolean> {
    return hasFilesystem(device);
  }

  async createFilesystem(device: string): Promise<void> {
    await createExt4(device);
  }

  async mount(device: string, mountPoint: string): Promise<void> {
    await mountExt4(threadedFs, device, mountPoint, async (backing) => {
      // Only the image of an owner copy here: never a handed-off copy, never anything else.
      const owned = await this.pool.owned();
      return owned.some((id) => backing === this.pool.realImagePath(id));
    });
  }

  async unmount(mountPoint: string): Promise<void> {
    await unexpose(threadedFs, mountPoint);
  }

  async listMounts(mountRoot: string): Promise<ReadonlyMap<string, string>> {
    return listLoopMounts(threadedFs, mountRoot);
  }
}

export function volumeIdOf(id: DatasetId): string {
  return `p2p-${id}`;
}
