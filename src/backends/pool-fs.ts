// How a backend touches the files of its pool and what it exposes. Two ways to make the same
// calls, picked by what the pool is on:
//  - a local filesystem: each call is made directly. A metadata call takes a few µs; through
//    node's thread pool it takes ~55 µs on the development VM and far more while the CPU is busy
//    (the answer waits for the event loop's turn), and a pass makes a hundred of them.
//  - anything else (NFS, SMB, FUSE, …): through the thread pool, since a call may wait on a server
//    for as long as it is away, and the agent must keep answering control meanwhile.
// Both return promises and fail with the same errno errors, so callers cannot tell them apart.
import * as sync from 'node:fs';
import * as threaded from 'node:fs/promises';
import type { Stats } from 'node:fs';

export interface PoolFs {
  /** 'direct' on a local filesystem, 'threaded' otherwise (for logs and tests). */
  readonly mode: 'direct' | 'threaded';
  stat(path: string): Promise<Stats>;
  lstat(path: string): Promise<Stats>;
  readText(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  realpath(path: string): Promise<string>;
  access(path: string, mode: number): Promise<void>;
  mkdir(path: string, opts?: { recursive?: boolean }): Promise<void>;
  mkdtemp(prefix: string): Promise<string>;
  /** `exclusive`: fail with EEXIST rather than replace. */
  writeText(path: string, text: string, opts?: { exclusive?: boolean }): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, path: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** rm -rf. */
  removeAll(path: string): Promise<void>;
}

export const threadedFs: PoolFs = {
  mode: 'threaded',
  stat: (p) => threaded.stat(p),
  lstat: (p) => threaded.lstat(p),
  readText: (p) => threaded.readFile(p, 'utf8'),
  readdir: (p) => threaded.readdir(p),
  readlink: (p) => threaded.readlink(p),
  realpath: (p) => threaded.realpath(p),
  access: (p, m) => threaded.access(p, m),
  mkdir: async (p, o) => void (await threaded.mkdir(p, o)),
  mkdtemp: (p) => threaded.mkdtemp(p),
  writeText: (p, t, o) => threaded.writeFile(p, t, { flag: o?.exclusive ? 'wx' : 'w' }),
  chmod: (p, m) => threaded.chmod(p, m),
  truncate: (p, n) => threaded.truncate(p, n),
  rename: (a, b) => threaded.rename(a, b),
  link: (a, b) => threaded.link(a, b),
  symlink: (t, p) => threaded.symlink(t, p),
  unlink: (p) => threaded.unlink(p),
  rmdir: (p) => threaded.rmdir(p),
  removeAll: (p) => threaded.rm(p, { recursive: true, force: true }),
};

// async: a failure is a rejection, as from the threaded calls, never a throw at the call.
export const directFs: PoolFs = {
  mode: 'direct',
  stat: async (p) => sync.statSync(p),
  lstat: async (p) => sync.lstatSync(p),
  readText: async (p) => sync.readFileSync(p, 'utf8'),
  readdir: async (p) => sync.readdirSync(p),
  readlink: async (p) => sync.readlinkSync(p),
  realpath: async (p) => sync.realpathSync(p),
  access: async (p, m) => sync.accessSync(p, m),
  mkdir: async (p, o) => void sync.mkdirSync(p, o),
  mkdtemp: async (p) => sync.mkdtempSync(p),
  writeText: async (p, t, o) => sync.writeFileSync(p, t, { flag: o?.exclusive ? 'wx' : 'w' }),
  chmod: async (p, m) => sync.chmodSync(p, m),
  truncate: async (p, n) => sync.truncateSync(p, n),
  rename: async (a, b) => sync.renameSync(a, b),
  link: async (a, b) => sync.linkSync(a, b),
  symlink: async (t, p) => sync.symlinkSync(t, p),
  unlink: async (p) => sync.unlinkSync(p),
  rmdir: async (p) => sync.rmdirSync(p),
  removeAll: async (p) => sync.rmSync(p, { recursive: true, force: true }),
};

/** statfs f_type of filesystems whose calls never wait on another machine (linux/magic.h). */
const LOCAL_FILESYSTEMS: ReadonlySet<number> = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
]);

/** The calls for a pool at `path`; threaded when it cannot tell (e.g. the pool is not there yet). */
export function poolFs(path: string): PoolFs {
  try {
    return LOCAL_FILESYSTEMS.has(sync.statfsSync(path).type) ? directFs : threadedFs;
  } catch {
    return threadedFs;
  }
}
