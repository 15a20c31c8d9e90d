// The btrfs filesystem under a node's p2p pool (P2P-DESIGN.md): P = ROOT/pool is ROOT's own
// filesystem when root_path is on btrfs, else the sparse file ROOT/pool.btrfs, formatted once and
// loop-mounted at P. This module makes, opens, re-opens and closes P and says how much room it
// has; what lives inside P is pool.ts's.
import { access, constants, mkdir, realpath, rename, rm, stat, statfs, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage } from '../../errors.js';
import { filesystemUsage, isBtrfs, mkfsBtrfs } from '../../sys/btrfs.js';
import { attachLoop, detachLoop, loopsForFile } from '../../sys/losetup.js';
import { mountAt, mount as sysMount, umount } from '../../sys/mounts.js';
import { BackendError } from '../backend.js';
import { errno, exists } from '../fsutil.js';
import { threadedFs } from '../pool-fs.js';

export interface PoolOptions {
  readonly rootPath: string;
  /** Size of ROOT/pool.btrfs when it is made; default: the size of the filesystem under root_path (sparse). */
  readonly poolFileSize?: number;
}

const HINT = 'check dataset.root_path in agent.yml';

type Mode = { readonly kind: 'native' } | { readonly kind: 'mounted'; readonly source: string };

export class PoolFilesystem {
  /** P: the btrfs directory holding the layout. */
  readonly dir: string;
  readonly poolFile: string;
  private mode: Mode | null = null;
  private realDirValue = '';
  private opening: Promise<void> | null = null;

  /** `prepare` runs inside every open, once P is btrfs, before any caller goes on. */
  constructor(private readonly opts: PoolOptions, private readonly prepare: () => Promise<void>) {
    this.dir = join(opts.rootPath, 'pool');
    this.poolFile = join(opts.rootPath, 'pool.btrfs');
  }

  /** realpath of `dir`, as the kernel names the files behind loop devices; set once open. */
  get realDir(): string {
    return this.realDirValue;
  }

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
    await mkdir(this.dir, { recursive: true });
    this.mode = (await isBtrfs(root)) ? { kind: 'native' } : await this.mountPoolFile();
    this.realDirValue = await realpath(this.dir);
    await this.prepare();
  }

  private async mountPoolFile(): Promise<Mode> {
    const realDir = await realpath(this.dir);
    const top = await mountAt(realDir);
    if (top) {
      if (top.fsType === 'btrfs') return { kind: 'mounted', source: top.source };
      throw new BackendError('pool-unusable', '', `${this.dir} has ${top.source} (${top.fsType}) mounted where the btrfs pool belongs: unmount it (${HINT})`);
    }
    if (!(await exists(threadedFs, this.poolFile))) await this.makePoolFile();
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

  /** Unmounts a pool file and releases its loop device (tests; a clean shutdown of an isolated node). */
  async close(): Promise<void> {
    this.mode = null;
    const realDir = await realpath(this.dir).catch(() => null);
    if (realDir === null) return;
    const top = await mountAt(realDir);
    if (top?.fsType === 'btrfs' && !(await isBtrfs(this.opts.rootPath))) await umountWhenFree(realDir);
    if (await exists(threadedFs, this.poolFile)) for (const d of await loopsForFile(this.poolFile)) await detachLoop(d).catch(() => undefined);
  }

  /** Bytes still free for new data in the pool (btrfs free estimate, and the filesystem under a pool file). */
  async freeBytes(): Promise<number> {
    await this.ready();
    const inPool = (await filesystemUsage(this.dir)).freeEstimated;
    if (this.mode?.kind === 'native') return inPool;
    // The pool file is sparse: it can only grow as far as the filesystem under it allows.
    const below = await statfs(this.opts.rootPath);
    return Math.min(inPool, below.bavail * below.bsize);
  }
}

async function checkRoot(root: string): Promise<void> {
  try {
    const st = await stat(root).catch(async (e: unknown) => {
      if (errno(e) !== 'ENOENT') throw e;
      // The pool is this node's own, so it is made; but not a missing parent, which is more likely a typo.
      if (!(await exists(threadedFs, dirname(root)))) {
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
