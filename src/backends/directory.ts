// The directory backend: a dataset is a directory in a pool that every node can reach (local
// disk for one host, NFS for several). Layout under root_path:
//   volumes/dir-<dataset_id>/volume.json   {"dataset_id", "size"}; written before the directory appears
//   volumes/dir-<dataset_id>/data/         what is exposed at MOUNT_ROOT/<dataset_id>
//   attached/dir-<dataset_id>              the holder's compute instance id, created exclusively
//   tmp/                                   staging, so every visible change is one rename or link
import { basename, dirname, join } from 'node:path';
import { asDatasetId, isUuidV4, type DatasetId } from '../model/ids.js';
import { listMounts as mountTable, mountAt, mount as sysMount } from '../sys/mounts.js';
import { BackendError, type BackendName, type StorageBackend, type Volume } from './backend.js';
import { createExclusive, errno, exists, isSafeName, preparePool, realOrNull, sweepStaging, roundUp, unexpose, unlinkIfExists } from './fsutil.js';
import { poolFs, type PoolFs } from './pool-fs.js';

export type Exposure = 'bind' | 'symlink';

export interface DirectoryBackendOptions {
  readonly rootPath: string;
  readonly computeInstanceId: string;
  readonly allocationUnit: number;
  /** Bind mounts need root; symlinks work for anyone. Defaults by the current uid. */
  readonly exposure?: Exposure;
}

const PREFIX = 'dir-';

export class DirectoryBackend implements StorageBackend {
  readonly name: BackendName = 'directory';
  readonly needsFilesystem = false;
  readonly exposure: Exposure;
  private readonly root: string;
  /** Chosen by what the pool is on, again at each check of the pool (pool-fs.ts). */
  private fs: PoolFs;
  private swept = false;
  private checked = false;
  /**
   * Every pass reads every volume, and volume.json never changes once its directory appears: one
   * stat (inode and change time) tells whether what was read last time still holds, instead of
   * open, stat, read and close.
   */
  private readonly metaCache = new Map<string, { readonly ino: number; readonly ctimeMs: number; readonly datasetId: string; readonly size: number }>();

  constructor(private readonly opts: DirectoryBackendOptions) {
    this.root = opts.rootPath;
    this.fs = poolFs(this.root);
    this.exposure = opts.exposure ?? (process.getuid?.() === 0 ? 'bind' : 'symlink');
  }

  allocationUnit(): number {
    return this.opts.allocationUnit;
  }

  computeInstanceId(): string {
    return this.opts.computeInstanceId;
  }

  private volDir(volumeId: string): string {
    return join(this.root, 'volumes', volumeId);
  }

  /** What a volume exposes: its data directory. */
  private dataDir(volumeId: string): string {
    return join(this.volDir(volumeId), 'data');
  }

  private record(volumeId: string): string {
    return join(this.root, 'attached', volumeId);
  }

  /** Checks the pool, so a pool gone away (or read-only, or not ours) is reported as such. */
  private async checkPool(): Promise<void> {
    this.checked = false;
    this.fs = poolFs(this.root);
    await preparePool(this.fs, this.root, ['volumes', 'attached', 'tmp'], false);
    this.checked = true;
    if (!this.swept) {
      this.swept = true;
      await sweepStaging(this.fs, join(this.root, 'tmp'));
    }
  }

  /**
   * Checks the pool unless a check since the last failure passed: every discovery and each step
   * of a create would otherwise repeat its system calls one after another. A listing or step that
   * fails checks again, so its error names the pool when the pool is what broke.
   */
  private async pool(): Promise<void> {
    if (!this.checked) await this.checkPool();
  }

  private async failed(e: unknown): Promise<never> {
    await this.checkPool();
    throw e;
  }

  private async holder(volumeId: string): Promise<string | null> {
    // Never cached: a record's inode may be reused by the next node's record, and a stale holder
    // could make two nodes expose one volume.
    try {
      return (await this.fs.readText(this.record(volumeId))).trim();
    } catch (e) {
      if (errno(e) === 'ENOENT') return null;
      throw e;
    }
  }

  /** `records`: the names in attached/ just listed, so a volume without one is not looked for. */
  private async read(volumeId: string, records?: ReadonlySet<string>): Promise<Volume | null> {
    if (!volumeId.startsWith(PREFIX) || !isUuidV4(volumeId.slice(PREFIX.length))) return null;
    const file = join(this.volDir(volumeId), 'volume.json');
    let meta = this.metaCache.get(volumeId);
    try {
      const { ino, ctimeMs } = await this.fs.stat(file);
      if (meta?.ino !== ino || meta.ctimeMs !== ctimeMs) {
        const o = JSON.parse(await this.fs.readText(file)) as { dataset_id?: unknown; size?: unknown };
        if (typeof o.size !== 'number' || typeof o.dataset_id !== 'string') return null;
        meta = { ino, ctimeMs, datasetId: o.dataset_id, size: o.size };
        this.metaCache.set(volumeId, meta);
      }
    } catch (e) {
      this.metaCache.delete(volumeId);
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR' || e instanceof SyntaxError) return null;
      throw e;
    }
    const attachedTo = records && !records.has(volumeId) ? null : await this.holder(volumeId);
    return { volumeId, datasetId: asDatasetId(meta.datasetId), size: meta.size, attachedTo };
  }

  private async get(volumeId: string): Promise<Volume> {
    await this.pool();
    const v = await this.read(volumeId).catch((e: unknown) => this.failed(e));
    if (!v) return this.failed(new BackendError('unknown-volume', volumeId, `no volume ${volumeId} in pool ${this.root}`));
    return v;
  }

  async listVolumes(): Promise<readonly Volume[]> {
    await this.pool();
    // A volume whose record appears between the two listings is seen unattached now and attached
    // on the next pass, as if the attach came a moment later.
    const [recordNames, names] = await Promise.all([this.fs.readdir(join(this.root, 'attached')), this.fs.readdir(join(this.root, 'volumes'))])
      .catch((e: unknown) => this.failed(e));
    const records = new Set(recordNames);
    const vols = await Promise.all(names.sort().map((n) => this.read(n, records)));
    // Forget what is gone, so the cache holds no more than the pool does.
    const present = new Set(names);
    for (const id of this.metaCache.keys()) if (!present.has(id)) this.metaCache.delete(id);
    const me = this.computeInstanceId();
    return vols
      .filter((v): v is Volume => v !== null)
      .map((v) => (v.attachedTo === me ? { ...v, device: this.dataDir(v.volumeId) } : v));
  }

  volumeIdFor(datasetId: DatasetId): string {
    return PREFIX + datasetId.toLowerCase();
  }

  async createVolume(datasetId: DatasetId, size: number): Promise<Volume> {
    if (!isUuidV4(datasetId)) throw new RangeError(`not a dataset id: ${datasetId}`);
    const volumeId = this.volumeIdFor(datasetId);
    const rounded = roundUp(size, this.opts.allocationUnit);
    await this.pool();
    const exists = () => new BackendError('already-exists', volumeId, `dataset ${datasetId} already has volume ${volumeId}`);
    if (await this.read(volumeId)) throw exists();
    const stage = await this.fs.mkdtemp(join(this.root, 'tmp', 'create-')).catch((e: unknown) => this.failed(e));
    try {
      await Promise.all([
        // Containers run as any uid; the data directory is theirs, as on a fresh loopback filesystem.
        this.fs.mkdir(join(stage, 'data')).then(() => this.fs.chmod(join(stage, 'data'), 0o777)),
        this.fs.writeText(join(stage, 'volume.json'), JSON.stringify({ dataset_id: datasetId.toLowerCase(), size: rounded }) + '\n'),
      ]);
      await this.fs.rename(stage, this.volDir(volumeId));
    } catch (e) {
      await this.fs.removeAll(stage);
      if (errno(e) === 'ENOTEMPTY' || errno(e) === 'EEXIST') throw exists();
      return this.failed(e);
    }
    return { volumeId, datasetId: asDatasetId(datasetId), size: rounded, attachedTo: null };
  }

  async destroyVolume(volumeId: string): Promise<void> {
    const v = await this.get(volumeId);
    if (v.attachedTo !== null) {
      throw new BackendError('already-attached', volumeId, `volume ${volumeId} is attached to ${v.attachedTo}; detach it before destroying`);
    }
    // Renamed away first so a crash mid-delete never leaves a half-deleted volume that looks real.
    const grave = join(this.root, 'tmp', `destroy-${volumeId}-${Date.now()}`);
    try {
      await this.fs.rename(this.volDir(volumeId), grave);
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new BackendError('unknown-volume', volumeId, `no volume ${volumeId} in pool ${this.root}`);
      throw e;
    }
    await this.fs.removeAll(grave);
  }

  async attachVolume(volumeId: string, to: string): Promise<Volume> {
    if (!isSafeName(to)) throw new RangeError(`not a compute instance id: ${to}`);
    const v = await this.get(volumeId);
    const refuse = (holder: string) =>
      new BackendError('already-attached', volumeId, `volume ${volumeId} is attached to ${holder}; it must be detached there first`);
    if (v.attachedTo === to) return v;
    if (v.attachedTo !== null) throw refuse(v.attachedTo);
    try {
      await createExclusive(this.fs, join(this.root, 'tmp'), this.record(volumeId), to + '\n');
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw e;
      const holder = await this.holder(volumeId);
      if (holder !== to) throw refuse(holder ?? 'another node');
    }
    // A destroy may have raced us between the check and the link: never leave a dangling record.
    if (!(await this.read(volumeId))) {
      await unlinkIfExists(this.fs, this.record(volumeId));
      throw new BackendError('unknown-volume', volumeId, `volume ${volumeId} was destroyed while attaching`);
    }
    return { ...v, attachedTo: to };
  }

  async detachVolume(volumeId: string): Promise<void> {
    await this.get(volumeId);
    // Detaching while exposed would let another node expose it too: two writers, one dataset.
    const at = await exposedAt(this.fs, this.dataDir(volumeId));
    if (at !== null) throw new Error(`volume ${volumeId} is still exposed at ${at}; unmount it before detaching`);
    if (!(await unlinkIfExists(this.fs, this.record(volumeId)))) {
      throw new BackendError('unattached', volumeId, `volume ${volumeId} is not attached`);
    }
  }

  async devicePath(volumeId: string): Promise<string> {
    // Asked for every attached volume on every pass, so the pool check (listVolumes and every
    // change make it) is left to get(), for the error when the volume is not found.
    const v = (await this.read(volumeId)) ?? (await this.get(volumeId));
    if (v.attachedTo === null) throw new BackendError('unattached', volumeId, `volume ${volumeId} is not attached`);
    if (v.attachedTo !== this.computeInstanceId()) {
      throw new BackendError('already-attached', volumeId, `volume ${volumeId} is attached to ${v.attachedTo}, not here`);
    }
    return this.dataDir(volumeId);
  }

  async hasFilesystem(): Promise<boolean> {
    return true;
  }

  async createFilesystem(): Promise<void> {}

  async mount(device: string, mountPoint: string): Promise<void> {
    // Only a volume attached here may be exposed: that is what makes attachment exclusive.
    const volumeId = basename(dirname(device));
    if (device !== this.dataDir(volumeId)) throw new Error(`cannot expose ${device}: not a volume of pool ${this.root}`);
    if ((await this.devicePath(volumeId)) !== device) throw new Error(`cannot expose ${device}: not attached here`);
    const st = await this.fs.stat(device);
    await this.fs.mkdir(dirname(mountPoint), { recursive: true });
    const cur = await this.fs.lstat(mountPoint).catch((e: unknown) => {
      if (errno(e) === 'ENOENT') return null;
      throw e;
    });
    if (cur?.isSymbolicLink()) {
      const target = await this.fs.readlink(mountPoint);
      if (this.exposure === 'symlink' && target === device) return;
      if (target !== device && (await exists(this.fs, mountPoint))) throw new Error(`${mountPoint} already exposes ${target}; unmount it first`);
      await unlinkIfExists(this.fs, mountPoint);
    } else if (cur?.isDirectory()) {
      const real = await realOrNull(this.fs, mountPoint);
      const top = real === null ? undefined : await mountAt(real);
      if (top) {
        const now = await this.fs.stat(mountPoint);
        if (now.dev === st.dev && now.ino === st.ino) return;
        throw new Error(`${mountPoint} already has ${top.source} mounted; unmount it first`);
      }
      if (this.exposure === 'symlink') await rmdirEmpty(this.fs, mountPoint);
    } else if (cur) {
      throw new Error(`${mountPoint} exists and is not a directory; remove it`);
    }
    // Remembered next to the data so detach can refuse while it is still exposed.
    const marker = join(dirname(device), 'exposed');
    await this.fs.writeText(marker + '.tmp', mountPoint);
    await this.fs.rename(marker + '.tmp', marker);
    if (this.exposure === 'symlink') {
      await this.fs.symlink(device, mountPoint);
    } else {
      await this.fs.mkdir(mountPoint, { recursive: true });
      await sysMount(device, mountPoint, { bind: true });
    }
  }

  async unmount(mountPoint: string): Promise<void> {
    await unexpose(this.fs, mountPoint);
  }

  async listMounts(mountRoot: string): Promise<ReadonlyMap<string, string>> {
    const out = new Map<string, string>();
    const realRoot = await realOrNull(this.fs, mountRoot);
    if (realRoot === null) return out;
    // Read only when a directory is found: with symlink exposure there are none, every pass.
    let mounted: Set<string> | undefined;
    let byInode: Map<string, string> | undefined;
    for (const name of (await this.fs.readdir(mountRoot)).sort()) {
      const path = join(mountRoot, name);
      const st = await this.fs.lstat(path).catch(() => null);
      if (st?.isSymbolicLink()) {
        out.set(path, await this.fs.readlink(path));
      } else if (st?.isDirectory() && (mounted ??= await mountedPoints()).has(join(realRoot, name))) {
        const now = await this.fs.stat(path);
        // Mount points are named for their dataset: check that dataset's volume first, and only
        // for a mount named otherwise look at every volume.
        const expected = this.dataDir(PREFIX + name.toLowerCase());
        const mine = await this.fs.stat(expected).catch(() => null);
        if (mine && mine.dev === now.dev && mine.ino === now.ino) {
          out.set(path, expected);
          continue;
        }
        byInode ??= await this.dataInodes();
        const dev = byInode.get(`${now.dev}:${now.ino}`);
        if (dev !== undefined) out.set(path, dev);
      }
    }
    return out;
  }

  /** "dev:ino" of every volume's data directory -> its path, to recognise bind mounts. */
  private async dataInodes(): Promise<Map<string, string>> {
    const m = new Map<string, string>();
    const names = await this.fs.readdir(join(this.root, 'volumes')).catch(() => [] as string[]);
    for (const n of names) {
      const data = this.dataDir(n);
      const st = await this.fs.stat(data).catch(() => null);
      if (st) m.set(`${st.dev}:${st.ino}`, data);
    }
    return m;
  }
}

async function mountedPoints(): Promise<Set<string>> {
  return new Set((await mountTable()).map((m) => m.mountPoint));
}

/** Where the data directory is still exposed on this host, per the marker mount() leaves; or null. */
async function exposedAt(fs: PoolFs, data: string): Promise<string | null> {
  let mp: string;
  try {
    mp = await fs.readText(join(dirname(data), 'exposed'));
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
  const [a, b] = await Promise.all([fs.stat(mp).catch(() => null), fs.stat(data)]);
  // A stale marker (unmounted since) no longer resolves to the same directory.
  return a !== null && a.dev === b.dev && a.ino === b.ino ? mp : null;
}

async function rmdirEmpty(fs: PoolFs, path: string): Promise<void> {
  try {
    await fs.rmdir(path);
  } catch (e) {
    if (errno(e) === 'ENOTEMPTY' || errno(e) === 'EEXIST') throw new Error(`${path} is a non-empty directory; move its contents away`);
    throw e;
  }
}
