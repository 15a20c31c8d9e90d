// Small filesystem helpers shared by the backends: errno tests, exclusive creation, pool checks, unexposing.
import { access, constants, link, lstat, mkdir, mkdtemp, readdir, realpath, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountAt, umount } from '../sys/mounts.js';
import { BackendError } from './backend.js';

export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return false;
    throw e;
  }
}

/** realpath, or null if the path does not exist. */
export async function realOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
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
export async function createExclusive(tmpDir: string, path: string, content: string): Promise<void> {
  const dir = await mkdtemp(join(tmpDir, 'x-'));
  const tmp = join(dir, 'f');
  try {
    await writeFile(tmp, content, { flag: 'wx' });
    await link(tmp, path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Checks the pool is a writable directory and makes its subdirectories. */
export async function preparePool(root: string, subdirs: readonly string[], createRoot: boolean): Promise<void> {
  const hint = 'check dataset.root_path in agent.yml';
  try {
    if (createRoot) await mkdir(root, { recursive: true });
    const st = await stat(root);
    if (!st.isDirectory()) throw new BackendError('pool-unusable', '', `storage pool ${root} is not a directory (${hint})`);
    await access(root, constants.W_OK | constants.X_OK);
    await Promise.all(subdirs.map((d) => mkdir(join(root, d), { recursive: true })));
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
export async function sweepStaging(tmpDir: string, olderThanMs = 3600_000): Promise<void> {
  const names = await readdir(tmpDir).catch(() => [] as string[]);
  for (const n of names) {
    const p = join(tmpDir, n);
    const st = await stat(p).catch(() => null);
    if (st && Date.now() - st.mtimeMs > olderThanMs) await rm(p, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Removes whatever exposes something at `mountPoint`: a symlink, or every mount stacked there. */
export async function unexpose(mountPoint: string): Promise<void> {
  const cur = await lstat(mountPoint).catch((e: unknown) => {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return null;
    throw e;
  });
  if (!cur) return;
  if (cur.isSymbolicLink()) {
    await unlinkIfExists(mountPoint);
    return;
  }
  const real = await realOrNull(mountPoint);
  if (real === null) return;
  for (let i = 0; i < 16; i++) {
    if (!(await mountAt(real))) return;
    await umount(real);
  }
  throw new Error(`${mountPoint} is still mounted after 16 unmounts`);
}
