// A node's own btrfs pool for the p2p backend (P2P-DESIGN.md). P = ROOT/pool is a btrfs
// filesystem: ROOT's own when root_path is on btrfs, else the sparse file ROOT/pool.btrfs,
// formatted once and loop-mounted there. Inside P:
//   live/<id>/            writable subvolume: `image` (sparse ext4) + `manifest.json` — the owner copy
//   snap/<id>/<name>      read-only snapshots of the live copy (what this node sends)
//   recv/<id>/<name>      read-only snapshots received from a peer (same name as the sender's)
//   handed-off/<id>.json  {to, snapshot}: the live copy was handed off and is never exposed again
//   spool/                transfer spool files, named `<dataset_id>...`, owned by the transfer layer
// Every step is safe to repeat after a crash: new subvolumes are made under a dot-name and
// renamed into place, a half-received snapshot is recognised (no received UUID) and remade.
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, open, readdir, readFile, realpath, rename, rm, stat, statfs, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage } from '../../errors.js';
import { asDatasetId, isUuidV4, type DatasetId } from '../../model/ids.js';
import {
  filesystemUsage, isBtrfs, mkfsBtrfs, readStreamHead, receiveFromFile, sendToFile, snapshot as btrfsSnapshot,
  subvolumeCreate, subvolumeDelete, subvolumeShow,
} from '../../sys/btrfs.js';
import { attachLoop, detachLoop, listLoops, loopsForFile } from '../../sys/losetup.js';
import { syncFilesystem } from '../../sys/filesystem.js';
import { listMounts as mountTable, mountAt, mount as sysMount, umount } from '../../sys/mounts.js';
import { BackendError } from '../backend.js';
import { errno, exists } from '../fsutil.js';
import { readManifestFile, writeManifestFile, type ManifestStore } from '../manifests.js';
import type { DatasetHoldings, SnapshotPool } from './pool-api.js';

export interface PoolOptions {
  readonly rootPath: string;
  /** Size of ROOT/pool.btrfs when it is made; default: the size of the filesystem under root_path (sparse). */
  readonly poolFileSize?: number;
}

const SUBDIRS = ['live', 'snap', 'recv', 'handed-off', 'spool'] as const;
/** `s<13-digit epoch ms>-<4 hex>`: sorts by age, and is one safe path component. */
const SNAPSHOT_NAME = /^s\d{13}-[0-9a-f]{4}$/;
const HINT = 'check dataset.root_path in agent.yml';
const MANIFEST = 'manifest.json';

export function isSnapshotName(name: string): boolean {
  return SNAPSHOT_NAME.test(name);
}

type Mode = { readonly kind: 'native' } | { readonly kind: 'mounted'; readonly source: string };

export class BtrfsPool implements SnapshotPool {
  /** P: the btrfs directory holding the layout. */
  readonly dir: string;
  readonly spoolDir: string;
  readonly poolFile: string;
  private mode: Mode | null = null;
  /** realpath of `dir`, as the kernel names the files behind loop devices. */
  private realDir = '';
  private opening: Promise<void> | null = null;
  private swept = false;
  private lastSnapshotMs = 0;

  constructor(private readonly opts: PoolOptions) {
    this.dir = join(opts.rootPath, 'pool');
    this.poolFile = join(opts.rootPath, 'pool.btrfs');
    this.spoolDir = join(this.dir, 'spool');
  }

  // ---- opening -------------------------------------------------------------------------------

  /** Opens the pool (making it on first use), or checks it is still mounted. Call before any use. */
  async ready(): Promise<void> {
    if (this.mode !== null && (await this.stillOpen(this.mode))) return;
    this.opening ??= this.open().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async stillOpen(mode: Mode): Promise<boolean> {
    if (mode.kind === 'native') return true;
    // A pool file unmounted under us (an admin, a reboot in between) must be remounted, never
    // written through: P would then be a plain directory on the filesystem below.
    const m = await mountAt(await realpath(this.dir).catch(() => this.dir));
    return m?.fsType === 'btrfs' && m.source === mode.source;
  }

  private async open(): Promise<void> {
    const root = this.opts.rootPath;
    await checkRoot(root);
    if (await isBtrfs(root)) {
      await mkdir(this.dir, { recursive: true });
      this.mode = { kind: 'native' };
    } else {
      await mkdir(this.dir, { recursive: true });
      this.mode = await this.mountPoolFile();
    }
    for (const d of SUBDIRS) await mkdir(join(this.dir, d), { recursive: true });
    this.realDir = await realpath(this.dir);
    if (!this.swept) {
      this.swept = true;
      await this.sweep();
    }
  }

  private async mountPoolFile(): Promise<Mode> {
    const realDir = await realpath(this.dir);
    const top = await mountAt(realDir);
    if (top) {
      if (top.fsType === 'btrfs') return { kind: 'mounted', source: top.source };
      throw new BackendError('pool-unusable', '', `${this.dir} has ${top.source} (${top.fsType}) mounted where the btrfs pool belongs: unmount it (${HINT})`);
    }
    if (!(await exists(this.poolFile))) await this.makePoolFile();
    const existing = (await loopsForFile(this.poolFile))[0];
    const device = existing ?? (await attachLoop(this.poolFile));
    try {
      // discard: space the pool frees is punched out of the sparse file, back to the filesystem below.
      await sysMount(device, this.dir, { type: 'btrfs', options: 'discard=async' });
    } catch (e) {
      if (existing === undefined) await detachLoop(device).catch(() => undefined);
      throw new BackendError('pool-unusable', '', `cannot mount the pool file ${this.poolFile} at ${this.dir}: ${errorMessage(e)}; if it is not a btrfs filesystem, move it away and a new pool is made (${HINT})`);
    }
    return { kind: 'mounted', source: device };
  }

  private async makePoolFile(): Promise<void> {
    const size = this.opts.poolFileSize ?? (await fsSize(this.opts.rootPath));
    // Made under another name and renamed: a crash mid-mkfs must not leave a pool file that looks finished.
    const tmp = `${this.poolFile}.new`;
    try {
      await rm(tmp, { force: true });
      await writeFile(tmp, '', { flag: 'wx' });
      await truncate(tmp, size);
      await mkfsBtrfs(tmp, { label: 'flocker-p2p' });
      await rename(tmp, this.poolFile);
    } catch (e) {
      await rm(tmp, { force: true });
      const why = errno(e) === 'ENOSPC' || /No space left/i.test(errorMessage(e)) ? 'the filesystem under it is full' : errorMessage(e);
      throw new BackendError('pool-unusable', '', `cannot make the pool file ${this.poolFile} (${size} bytes, sparse): ${why} (${HINT})`);
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

  /** Unmounts a pool file and releases its loop device (tests; a clean shutdown of an isolated node). */
  async close(): Promise<void> {
    this.mode = null;
    const realDir = await realpath(this.dir).catch(() => null);
    if (realDir === null) return;
    const top = await mountAt(realDir);
    if (top?.fsType === 'btrfs' && !(await isBtrfs(this.opts.rootPath))) await umountWhenFree(realDir);
    if (await exists(this.poolFile)) for (const d of await loopsForFile(this.poolFile)) await detachLoop(d).catch(() => undefined);
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
    for (const p of [join(this.snapDir(id), name), join(this.recvDir(id), name)]) if (await exists(p)) return p;
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
    if (await exists(dest)) throw exists_();
    const stage = join(this.dir, 'live', `.new-${id}-${randomBytes(3).toString('hex')}`);
    try {
      await subvolumeCreate(stage);
      await writeFile(join(stage, 'image'), '', { flag: 'wx' });
      await truncate(join(stage, 'image'), size);
      // What the agent knows at once; it writes the configuration's metadata and size over it.
      await writeManifestFile(join(stage, MANIFEST), { datasetId: id, maximumSize: size, metadata: {} });
      if (await exists(dest)) throw exists_();
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
      return readManifestFile(join(this.liveDir(id), MANIFEST), id);
    },
    write: async (m) => {
      await this.ready();
      if (!(await exists(this.liveDir(m.datasetId)))) {
        throw new BackendError('unknown-volume', `p2p-${m.datasetId}`, `dataset ${m.datasetId} has no live copy in pool ${this.dir} to keep its manifest in`);
      }
      await writeManifestFile(join(this.liveDir(m.datasetId), MANIFEST), m);
    },
  };

  async isExposed(datasetId: DatasetId): Promise<boolean> {
    await this.ready();
    return this.exposed(datasetId);
  }

  private async exposed(datasetId: DatasetId): Promise<boolean> {
    const image = this.imagePath(datasetId);
    if (!(await exists(image))) return false;
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
    if (!(await exists(live))) throw new BackendError('unknown-volume', datasetId, `dataset ${datasetId} has no live copy in pool ${this.dir} to snapshot`);
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
    if (await exists(target)) {
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
    if (!(await exists(source))) throw new BackendError('unknown-volume', datasetId, `dataset ${datasetId} has no received snapshot ${snapshot} in pool ${this.dir}`);
    const live = this.liveDir(datasetId);
    const marker = await this.marker(datasetId);
    if (await exists(live)) {
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
    if (!(await exists(live))) {
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
    const body = JSON.stringify({ to, snapshot }) + '\n';
    const path = this.markerPath(datasetId);
    const tmp = `${path}.tmp-${randomBytes(3).toString('hex')}`;
    // Durable before anyone is told: after a crash the copy must still be known as handed off.
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const d = await open(dirname(path), 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  async handedOff(datasetId: DatasetId): Promise<{ readonly to: string; readonly snapshot: string } | null> {
    await this.ready();
    return this.marker(datasetId);
  }

  private async marker(datasetId: DatasetId): Promise<{ readonly to: string; readonly snapshot: string } | null> {
    let text: string;
    try {
      text = await readFile(this.markerPath(datasetId), 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return null;
      throw e;
    }
    const doc = JSON.parse(text) as { to?: unknown; snapshot?: unknown };
    if (typeof doc.to !== 'string' || typeof doc.snapshot !== 'string') throw new Error(`hand-off marker ${this.markerPath(datasetId)} is malformed`);
    return { to: doc.to, snapshot: doc.snapshot };
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
      const isLive = live.includes(id);
      out.set(id, { live: isLive, handedOffTo: (await this.marker(id))?.to ?? null, local, received });
    }
    return out;
  }

  async deleteSnapshot(datasetId: DatasetId, name: string): Promise<void> {
    await this.ready();
    if (!isSnapshotName(name)) throw new RangeError(`not a snapshot name: ${JSON.stringify(name)}`);
    for (const p of [join(this.snapDir(datasetId), name), join(this.recvDir(datasetId), name)]) {
      if (await exists(p)) await deleteSubvolume(p);
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

  async freeBytes(): Promise<number> {
    await this.ready();
    const inPool = (await filesystemUsage(this.dir)).freeEstimated;
    if (this.mode?.kind === 'native') return inPool;
    // The pool file is sparse: it can only grow as far as the filesystem under it allows.
    const below = await statfs(this.opts.rootPath);
    return Math.min(inPool, below.bavail * below.bsize);
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function checkId(id: DatasetId): DatasetId {
  if (!isUuidV4(id) || id !== id.toLowerCase()) throw new RangeError(`not a dataset id: ${JSON.stringify(id)}`);
  return id;
}

async function checkRoot(root: string): Promise<void> {
  try {
    const st = await stat(root).catch(async (e: unknown) => {
      if (errno(e) !== 'ENOENT') throw e;
      // The pool is this node's own, so it is made; but not a missing parent, which is more likely a typo.
      if (!(await exists(dirname(root)))) {
        throw new BackendError('pool-unusable', '', `storage pool ${root} cannot be made: its parent ${dirname(root)} does not exist (${HINT})`);
      }
      await mkdir(root);
      return stat(root);
    });
    if (!st.isDirectory()) throw new BackendError('pool-unusable', '', `storage pool ${root} is not a directory (${HINT})`);
    await access(root, constants.W_OK | constants.X_OK);
  } catch (e) {
    if (e instanceof BackendError) throw e;
    const code = errno(e);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new BackendError('pool-unusable', '', `storage pool ${root} is not writable by uid ${process.getuid?.() ?? '?'} (${code}): fix its permissions or mount it read-write (${HINT})`);
    }
    throw new BackendError('pool-unusable', '', `storage pool ${root} is unusable: ${errorMessage(e)} (${HINT})`);
  }
}

/**
 * A loop device detached just before (an image's) is released only once udev stops probing it,
 * and until then keeps the pool busy: retry a busy unmount for a while.
 */
async function umountWhenFree(path: string, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await umount(path);
      return;
    } catch (e) {
      if (!/busy/i.test(errorMessage(e)) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function fsSize(path: string): Promise<number> {
  const s = await statfs(path);
  return s.blocks * s.bsize;
}

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
  if (!(await exists(path))) return;
  await subvolumeDelete(path);
}

/** A received snapshot is complete once btrfs receive stamped its received UUID and made it read-only. */
async function isCompleteReceive(path: string): Promise<boolean> {
  const info = await subvolumeShow(path).catch(() => null);
  return info !== null && info.readOnly && info.receivedUuid !== null;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw e;
  }
}

async function uuidNames(dir: string, suffix = ''): Promise<DatasetId[]> {
  return (await readdirOrEmpty(dir))
    .filter((n) => n.endsWith(suffix) && isUuidV4(n.slice(0, n.length - suffix.length)))
    .map((n) => asDatasetId(n.slice(0, n.length - suffix.length)))
    .sort();
}

async function snapshotNames(dir: string): Promise<string[]> {
  return (await readdirOrEmpty(dir)).filter(isSnapshotName).sort();
}
