// Small filesystem helpers shared by the backends: errno tests, exclusive creation, pool checks, unexposing.
import { constants } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mountAt, umount } from '../sys/mounts.js';
import { BackendError } from './backend.js';
import type { PoolFs } from './pool-fs.js';

export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export async function exists(fs: PoolFs, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return false;
    throw e;
  }
}

/** realpath, or null if the path does not exist. */
export async function realOrNull(fs: PoolFs, path: string): Promise<string | null> {
  try {
    return await fs.realpath(path);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * Creates `path` holding `content`, failing with EEXIST if it exists. Written to a temporary file
 * in `tmpDir` first and hard-linked into place, so readers never see it half-written and two
 * writers racing for the same name cannot both win (link is exclusive, also on NFS).
 */
export async function createExclusive(fs: PoolFs, tmpDir: string, path: string, content: string): Promise<void> {
  const tmp = join(tmpDir, `x-${randomUUID()}`);
  try {
    await fs.writeText(tmp, content, { exclusive: true });
    await fs.link(tmp, path);
  } finally {
    await unlinkIfExists(fs, tmp);
  }
}

export async function unlinkIfExists(fs: PoolFs, path: string): Promise<boolean> {
  try {
    await fs.unlink(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Checks the pool is a writable directory and makes its subdirectories. */
export async function preparePool(fs: PoolFs, root: string, subdirs: readonly string[], createRoot: boolean): Promise<void> {
  const hint = 'check dataset.root_path in agent.yml';
  try {
    if (createRoot) await fs.mkdir(root, { recursive: true });
    const st = await fs.stat(root);
    if (!st.isDirectory()) throw new BackendError('pool-unusable', '', `storage pool ${root} is not a directory (${hint})`);
    await fs.access(root, constants.W_OK | constants.X_OK);
    await Promise.all(subdirs.map((d) => fs.mkdir(join(root, d), { recursive: true })));
  } catch (e) {
    if (e instanceof BackendError) throw e;
    const code = errno(e);
    if (code === 'ENOENT') {
      throw new BackendError('pool-unusable', '', `storage pool ${root} does not exist: create it (mkdir -p ${root}) or mount the shared pool there (${hint})`);
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      const who = process.getuid?.() ?? '?';
      throw new BackendError('pool-unusable', '', `storage pool ${root} is not writable by uid ${who} (${code}): fix its permissions or mount it read-write`);
    }
    throw new BackendError('pool-unusable', '', `storage pool ${root} is unusable: ${(e as Error).message}`);
  }
}

/** A name that is safe as one path component. */
export function isSafeName(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/.test(s) && s.length <= 200;
}

export function roundUp(size: number, unit: number): number {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`volume size must be a positive integer of bytes, got ${size}`);
  return Math.ceil(size / unit) * unit;
}

/**
 * Removes staging left in `tmpDir` by a crash (a half-created or half-destroyed volume). Only old
 * entries: another node may be staging something right now.
 */
export async function sweepStaging(fs: PoolFs, tmpDir: string, olderThanMs = 3600_000): Promise<void> {
  const names = await fs.readdir(tmpDir).catch(() => [] as string[]);
  for (const n of names) {
    const p = join(tmpDir, n);
    const st = await fs.stat(p).catch(() => null);
    if (st && Date.now() - st.mtimeMs > olderThanMs) await fs.removeAll(p).catch(() => undefined);
  }
}

/** Removes whatever exposes something at `mountPoint`: a symlink, or every mount stacked there. */
export async function unexpose(fs: PoolFs, mountPoint: string): Promise<void> {
  const cur = await fs.lstat(mountPoint).catch((e: unknown) => {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return null;
    throw e;
  });
  if (!cur) return;
  if (cur.isSymbolicLink()) {
    await unlinkIfExists(fs, mountPoint);
    return;
  }
  const real = await realOrNull(fs, mountPoint);
  if (real === null) return;
  for (let i = 0; i < 16; i++) {
    if (!(await mountAt(real))) return;
    await umount(real);
  }
  throw new Error(`${mountPoint} is still mounted after 16 unmounts`);
}
