// A node's own btrfs pool for the p2p backend (P2P-DESIGN.md): the layout of datasets inside
// P = ROOT/pool, a btrfs filesystem that pool-filesystem.ts opens. Inside P:
//   live/<id>/            writable subvolume: `image` (sparse ext4) + `manifest.json` — the owner copy
//   snap/<id>/<name>      read-only snapshots of the live copy (what this node sends)
//   recv/<id>/<name>      read-only snapshots received from a peer (same name as the sender's)
//   handed-off/<id>.json  {to, snapshot}: the live copy was handed off and is never exposed again
//   spool/                transfer spool files, named `<dataset_id>...`, owned by the transfer layer
// Every step is safe to repeat after a crash: new subvolumes are made under a dot-name and
// renamed into place, a half-received snapshot is recognised (no received UUID) and remade.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../errors.js';
import type { DatasetId } from '../../model/ids.js';
import {
  readStreamHead, receiveFromFile, sendToFile, snapshot as btrfsSnapshot, subvolumeCreate, subvolumeDelete, subvolumeShow,
} from '../../sys/btrfs.js';
import { listLoops, loopsForFile } from '../../sys/losetup.js';
import { syncFilesystem } from '../../sys/filesystem.js';
import { listMounts as mountTable } from '../../sys/mounts.js';
import { BackendError } from '../backend.js';
import { errno, exists } from '../fsutil.js';
import { threadedFs } from '../pool-fs.js';
import { readManifestFile, writeManifestFile, type ManifestStore } from '../manifests.js';
import type { DatasetHoldings, HandOff, SnapshotPool } from './pool-api.js';
import { readHandOff, writeHandOff } from './handoff-marker.js';
import { checkId, isSnapshotName, snapshotNames, uuidNames } from './pool-names.js';
import { PoolFilesystem, type PoolOptions } from './pool-filesystem.js';

const SUBDIRS = ['live', 'snap', 'recv', 'handed-off', 'spool'] as const;
const MANIFEST = 'manifest.json';

export class BtrfsPool implements SnapshotPool {
  /** P: the btrfs directory holding the layout. */
  readonly dir: string;
  readonly spoolDir: string;
  readonly poolFile: string;
  private readonly fs: PoolFilesystem;
  private swept = false;
  private lastSnapshotMs = 0;

  constructor(opts: PoolOptions) {
    this.fs = new PoolFilesystem(opts, () => this.prepare());
    this.dir = this.fs.dir;
    this.poolFile = this.fs.poolFile;
    this.spoolDir = join(this.dir, 'spool');
  }

  /** realpath of `dir`, as the kernel names the files behind loop devices. */
  private get realDir(): string {
    return this.fs.realDir;
  }

  // ---- opening -------------------------------------------------------------------------------

  /** Opens the pool (making it on first use), or checks it is still mounted. Call before any use. */
  ready(): Promise<void> {
    return this.fs.ready();
  }

  /** Unmounts a pool file and releases its loop device (tests; a clean shutdown of an isolated node). */
  close(): Promise<void> {
    return this.fs.close();
  }

  /** Run by every open of the filesystem: the layout's folders, and once a sweep of crash leftovers. */
  private async prepare(): Promise<void> {
    for (const d of SUBDIRS) await mkdir(join(this.dir, d), { recursive: true });
    if (!this.swept) {
      this.swept = true;
      await this.sweep();
    }
  }

  /** Removes what a crash left half-made: staged live copies and half-received snapshots. */
  private async sweep(): Promise<void> {
    for (const n of await readdir(join(this.dir, 'live'))) {
      if (n.startsWith('.')) await deleteSubvolume(join(this.dir, 'live', n));
    }
    for (const id of await readdir(join(this.dir, 'recv'))) {
      for (const n of await readdir(join(this.dir, 'recv', id)).catch(() => [] as string[])) {
        const p = join(this.dir, 'recv', id, n);
        if (!(await isCompleteReceive(p))) await deleteSubvolume(p);
      }
    }
  }

  // ---- paths ---------------------------------------------------------------------------------

  liveDir(id: DatasetId): string {
    return join(this.dir, 'live', checkId(id));
  }

  imagePath(id: DatasetId): string {
    return join(this.liveDir(id), 'image');
  }

  private snapDir(id: DatasetId): string {
    return join(this.dir, 'snap', checkId(id));
  }

  private recvDir(id: DatasetId): string {
    return join(this.dir, 'recv', checkId(id));
  }

  private markerPath(id: DatasetId): string {
    return join(this.dir, 'handed-off', `${checkId(id)}.json`);
  }

  /** Where snapshot `name` of the dataset is: this node's own first, then received. */
  private async snapshotPath(id: DatasetId, name: string): Promise<string> {
    if (!isSnapshotName(name)) throw new RangeError(`not a snapshot name: ${JSON.stringify(name)}`);
    for (const p of [join(this.snapDir(id), name), join(this.recvDir(id), name)]) if (await exists(threadedFs, p)) return p;
    throw new BackendError('unknown-volume', id, `dataset ${id} has no snapshot ${name} in pool ${this.dir}`);
  }

  // ---- the owner copy ------------------------------------------------------------------------

  /** Datasets with a live copy here that was not handed off: the node's volumes. */
  async owned(): Promise<DatasetId[]> {
    await this.ready();
    const live = await uuidNames(join(this.dir, 'live'));
    const handed = new Set((await uuidNames(join(this.dir, 'handed-off'), '.json')));
    return live.filter((id) => !handed.has(id));
  }

  /** A new live copy: subvolume, sparse image of `size` bytes, manifest. */
  async createLive(id: DatasetId, size: number): Promise<void> {
    await this.ready();
    const dest = this.liveDir(id);
    const exists_ = () => new BackendError('already-exists', `p2p-${id}`, `dataset ${id} already has a copy in pool ${this.dir}`);
    if (await exists(threadedFs, dest)) throw exists_();
    const stage = join(this.dir, 'live', `.new-${id}-${randomBytes(3).toString('hex')}`);
    try {
      await subvolumeCreate(stage);
      await writeFile(join(stage, 'image'), '', { flag: 'wx' });
      await truncate(join(stage, 'image'), size);
      // What the agent knows at once; it writes the configuration's metadata and size over it.
      await writeManifestFile(threadedFs, join(stage, MANIFEST), { datasetId: id, maximumSize: size, metadata: {} });
      if (await exists(threadedFs, dest)) throw exists_();
      await rename(stage, dest);
    } catch (e) {
      await deleteSubvolume(stage).catch(() => undefined);
      if (e instanceof BackendError) throw e;
      throw fullOr(this.dir, `creating dataset ${id}`, e);
    }
  }

  /**
   * Manifests inside the live copies: a snapshot carries its manifest to the node it is sent to,
   * and a promoted copy has it. Never makes a live copy: writing to one not here fails.
   */
  readonly manifests: ManifestStore = {
    read: async (id) => {
      await this.ready();
      return readManifestFile(threadedFs, join(this.liveDir(id), MANIFEST), id);
    },
    write: async (m) => {
      await this.ready();
      if (!(await exists(threadedFs, this.liveDir(m.datasetId)))) {
        throw new BackendError('unknown-volume', `p2p-${m.datasetId}`, `dataset ${m.datasetId} has no live copy in pool ${this.dir} to keep its manifest in`);
      }
      await writeManifestFile(threadedFs, join(this.liveDir(m.datasetId), MANIFEST), m);
    },
  };

  async isExposed(datasetId: DatasetId): Promise<boolean> {
    await this.ready();
    return this.exposed(datasetId);
  }

  private async exposed(datasetId: DatasetId): Promise<boolean> {
    const image = this.imagePath(datasetId);
    if (!(await exists(threadedFs, image))) return false;
    return (await loopsForFile(image)).length > 0;
  }

  /** Real paths of live images that are loop-attached now, in one look at the loop devices. */
  async attachedImages(): Promise<ReadonlySet<string>> {
    await this.ready();
    const prefix = join(this.realDir, 'live') + '/';
    return new Set((await listLoops()).map((l) => l.backingFile).filter((f) => f.startsWith(prefix)));
  }

  /** As the kernel names it (for comparing with a loop device's backing file); the pool must be open. */
  realImagePath(id: DatasetId): string {
    return join(this.realDir, 'live', checkId(id), 'image');
  }

  // ---- snapshots -----------------------------------------------------------------------------

  async snapshot(datasetId: DatasetId): Promise<string> {
    await this.ready();
    const live = this.liveDir(datasetId);
    if (!(await exists(threadedFs, live))) throw new BackendError('unknown-volume', datasetId, `dataset ${datasetId} has no live copy in pool ${this.dir} to snapshot`);
    await this.flushExposed(datasetId);
    const name = this.nextSnapshotName();
    await mkdir(this.snapDir(datasetId), { recursive: true });
    try {
      await btrfsSnapshot(live, join(this.snapDir(datasetId), name), { readOnly: true });
    } catch (e) {
      throw fullOr(this.dir, `snapshotting dataset ${datasetId}`, e);
    }
    return name;
  }

  /**
   * A snapshot of a mounted copy is what a power cut would leave; without this it would also miss
   * everything ext4 still holds in memory, so a pre-copy would carry almost nothing recent.
   */
  private async flushExposed(id: DatasetId): Promise<void> {
    const devices = await loopsForFile(this.imagePath(id));
    if (devices.length === 0) return;
    for (const m of await mountTable()) if (devices.includes(m.source)) await syncFilesystem(m.mountPoint);
  }

  private nextSnapshotName(): string {
    // Strictly increasing within this process, so names sort in the order they were taken.
    const ms = Math.max(Date.now(), this.lastSnapshotMs + 1);
    this.lastSnapshotMs = ms;
    return `s${String(ms).padStart(13, '0')}-${randomBytes(2).toString('hex')}`;
  }

  async snapshots(datasetId: DatasetId): Promise<{ readonly local: readonly string[]; readonly received: readonly string[] }> {
    await this.ready();
    return this.snapshotsOf(datasetId);
  }

  private async snapshotsOf(datasetId: DatasetId): Promise<{ readonly local: string[]; readonly received: string[] }> {
    return { local: await snapshotNames(this.snapDir(datasetId)), received: await snapshotNames(this.recvDir(datasetId)) };
  }

  async sendToFile(datasetId: DatasetId, snapshot: string, parent: string | null, out: string, signal?: AbortSignal): Promise<void> {
    await this.ready();
    const from = await this.snapshotPath(datasetId, snapshot);
    const base = parent === null ? null : await this.snapshotPath(datasetId, parent);
    try {
      await sendToFile(from, out, { parent: base, ...(signal ? { signal } : {}) });
    } catch (e) {
      // A partial stream is worthless (send is not resumable); never leave one that looks whole.
      await rm(out, { force: true });
      throw e;
    }
  }

  async receiveFile(datasetId: DatasetId, file: string): Promise<string> {
    await this.ready();
    const head = await readStreamHead(file);
    if (!isSnapshotName(head.name)) throw new Error(`stream ${file} carries snapshot ${JSON.stringify(head.name)}, not one of ours (s<epoch ms>-<hex>)`);
    const dir = this.recvDir(datasetId);
    const target = join(dir, head.name);
    await mkdir(dir, { recursive: true });
    if (await exists(threadedFs, target)) {
      if (await isCompleteReceive(target)) return head.name;
      await deleteSubvolume(target);
    }
    try {
      await receiveFromFile(file, dir);
    } catch (e) {
      await deleteSubvolume(target).catch(() => undefined);
      if (head.incremental && /cannot find parent subvolume/i.test(errorMessage(e))) {
        throw new Error(`cannot receive incremental snapshot ${head.name} of dataset ${datasetId}: its parent snapshot is not in pool ${this.dir}; send a full stream`);
      }
      throw fullOr(this.dir, `receiving snapshot ${head.name} of dataset ${datasetId}`, e);
    }
    return head.name;
  }

  async promote(datasetId: DatasetId, snapshot: string): Promise<void> {
    await this.ready();
    if (!isSnapshotName(snapshot)) throw new RangeError(`not a snapshot name: ${JSON.stringify(snapshot)}`);
    const source = join(this.recvDir(datasetId), snapshot);
    if (!(await exists(threadedFs, source))) throw new BackendError('unknown-volume', datasetId, `dataset ${datasetId} has no received snapshot ${snapshot} in pool ${this.dir}`);
    const live = this.liveDir(datasetId);
    const marker = await readHandOff(this.markerPath(datasetId));
    if (await exists(threadedFs, live)) {
      if (marker === null) {
        // Already the owner: a repeat of a promote that finished (its copy descends from this snapshot) is fine.
        const [l, s] = await Promise.all([subvolumeShow(live), subvolumeShow(source)]);
        if (l.parentUuid !== s.uuid) {
          throw new BackendError('already-exists', `p2p-${datasetId}`, `dataset ${datasetId} already has a live copy in pool ${this.dir}; promoting ${snapshot} would overwrite it`);
        }
      } else {
        // A handed-off copy is never exposed again, so it may be replaced.
        if (await this.exposed(datasetId)) throw exposedError(datasetId, 'replaced');
        await deleteSubvolume(live);
      }
    }
    if (!(await exists(threadedFs, live))) {
      const stage = join(this.dir, 'live', `.promote-${datasetId}`);
      await deleteSubvolume(stage).catch(() => undefined);
      try {
        await btrfsSnapshot(source, stage, { readOnly: false });
        await rename(stage, live);
      } catch (e) {
        await deleteSubvolume(stage).catch(() => undefined);
        throw fullOr(this.dir, `promoting snapshot ${snapshot} of dataset ${datasetId}`, e);
      }
    }
    await rm(this.markerPath(datasetId), { force: true });
    for (const older of (await snapshotNames(this.recvDir(datasetId))).filter((n) => n < snapshot)) {
      await deleteSubvolume(join(this.recvDir(datasetId), older));
    }
  }

  // ---- hand-off ------------------------------------------------------------------------------

  async markHandedOff(datasetId: DatasetId, to: string, snapshot: string): Promise<void> {
    await this.ready();
    if (await this.exposed(datasetId)) throw exposedError(datasetId, 'handed off');
    await writeHandOff(this.markerPath(datasetId), { to, snapshot });
  }

  async handedOff(datasetId: DatasetId): Promise<HandOff | null> {
    await this.ready();
    return readHandOff(this.markerPath(datasetId));
  }

  // ---- what the node holds -------------------------------------------------------------------

  async inventory(): Promise<ReadonlyMap<DatasetId, DatasetHoldings>> {
    await this.ready();
    const [live, snap, recv, handed] = await Promise.all([
      uuidNames(join(this.dir, 'live')),
      uuidNames(join(this.dir, 'snap')),
      uuidNames(join(this.dir, 'recv')),
      uuidNames(join(this.dir, 'handed-off'), '.json'),
    ]);
    const out = new Map<DatasetId, DatasetHoldings>();
    for (const id of [...new Set([...live, ...snap, ...recv, ...handed])].sort()) {
      const { local, received } = await this.snapshotsOf(id);
      out.set(id, { live: live.includes(id), handedOff: await readHandOff(this.markerPath(id)), local, received });
    }
    return out;
  }

  async deleteSnapshot(datasetId: DatasetId, name: string): Promise<void> {
    await this.ready();
    if (!isSnapshotName(name)) throw new RangeError(`not a snapshot name: ${JSON.stringify(name)}`);
    for (const p of [join(this.snapDir(datasetId), name), join(this.recvDir(datasetId), name)]) {
      if (await exists(threadedFs, p)) await deleteSubvolume(p);
    }
  }

  async destroyAll(datasetId: DatasetId): Promise<void> {
    await this.ready();
    if (await this.exposed(datasetId)) throw exposedError(datasetId, 'destroyed');
    for (const dir of [this.snapDir(datasetId), this.recvDir(datasetId)]) {
      for (const n of await readdir(dir).catch(() => [] as string[])) await deleteSubvolume(join(dir, n));
      await rm(dir, { recursive: true, force: true });
    }
    for (const n of await readdir(join(this.dir, 'live'))) {
      if (n === datasetId || n.startsWith(`.new-${datasetId}`) || n === `.promote-${datasetId}`) await deleteSubvolume(join(this.dir, 'live', n));
    }
    // The marker goes last: until the live copy is gone it must stay known as handed off.
    await rm(this.markerPath(datasetId), { force: true });
    for (const n of await readdir(this.spoolDir)) {
      if (n.startsWith(datasetId)) await rm(join(this.spoolDir, n), { recursive: true, force: true });
    }
  }

  // ---- space ---------------------------------------------------------------------------------

  async allocatedBytes(datasetId: DatasetId): Promise<number> {
    await this.ready();
    return (await stat(this.imagePath(datasetId))).blocks * 512;
  }

  freeBytes(): Promise<number> {
    return this.fs.freeBytes();
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function fullOr(dir: string, what: string, e: unknown): Error {
  const msg = errorMessage(e);
  if (errno(e) === 'ENOSPC' || /No space left on device/i.test(msg)) {
    return new BackendError('pool-unusable', '', `pool ${dir} is full: ${what} failed (${msg.trim()}); free space in the pool or give it a bigger disk`);
  }
  return e instanceof Error ? e : new Error(msg);
}

function exposedError(id: DatasetId, what: string): BackendError {
  return new BackendError('already-attached', `p2p-${id}`, `dataset ${id} is attached or mounted here and cannot be ${what}; unmount and detach it first`);
}

async function deleteSubvolume(path: string): Promise<void> {
  if (!(await exists(threadedFs, path))) return;
  await subvolumeDelete(path);
}

/** A received snapshot is complete once btrfs receive stamped its received UUID and made it read-only. */
async function isCompleteReceive(path: string): Promise<boolean> {
  const info = await subvolumeShow(path).catch(() => null);
  return info !== null && info.readOnly && info.receivedUuid !== null;
}
