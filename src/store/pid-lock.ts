// Single owner of the data directory: a pid file taken with O_EXCL. node-sqlite3-wasm's own lock is
// a `<db>.lock` directory that a crash leaves behind, so only once we own the pid file is it safe
// to clear that directory. Taking over a stale pid file is serialised (breakStale), so of two
// starts racing for one data directory exactly one wins.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.js';

export interface PidLock {
  readonly path: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function pidIn(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number.parseInt(text.trim(), 10);
}

export function takePidLock(path: string, what = 'the control service'): PidLock {
  // Write the pid to a private file, then link it into place: the lock file appears with its
  // content, so a rival never reads an empty file and mistakes a fresh lock for a stale one.
  // The random part keeps two processes with one pid (separate pid namespaces) apart.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
  try {
    return acquire(path, tmp, what);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
}

/** A breaker older than this was left by a process killed inside its few microseconds. */
const BREAKER_STALE_MS = 10_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquire(path: string, tmp: string, what: string): PidLock {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError(`cannot create ${path}: ${(e as Error).message}`);
      }
      const holder = pidIn(readText(path));
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new UserError(`${what} is already running with this data directory (pid ${holder}, ${path})`);
      }
      // Stale (or vanished): its owner died without cleaning up. Removing it must not race a
      // rival that removed it too and has since linked its own fresh lock in its place.
      if (!breakStale(path)) sleepSync(5);
      continue;
    }
    return {
      path,
      release() {
        if (pidIn(readText(path)) === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
        }
      },
    };
  }
  throw new UserError(`cannot take the lock ${path}: another process keeps recreating it`);
}

/**
 * Remove a stale lock file under a short-lived mutex (`PATH.breaking`, made with mkdir, which is
 * atomic), re-reading it inside: every removal then sees the file as it is, so a fresh lock that a
 * rival linked a moment ago is never taken for the stale one it replaced. Returns false when
 * another process holds the mutex (the caller retries).
 */
function breakStale(path: string): boolean {
  const breaker = `${path}.breaking`;
  try {
    mkdirSync(breaker);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`cannot create ${breaker}: ${(e as Error).message}`);
    try {
      if (Date.now() - statSync(breaker).mtimeMs > BREAKER_STALE_MS) rmdirSync(breaker);
    } catch {
      /* gone already */
    }
    return false;
  }
  try {
    const holder = pidIn(readText(path));
    const live = holder !== undefined && holder !== process.pid && isAlive(holder);
    if (!live) {
      try {
        unlinkSync(path);
      } catch {
        /* absent: nothing to break */
      }
    }
  } finally {
    rmdirSync(breaker);
  }
  return true;
}

/** Remove the `.lock` directories node-sqlite3-wasm leaves when killed inside a transaction. */
export function clearStaleSqliteLocks(dbPath: string): void {
  for (const dir of [`${dbPath}.lock`, `${dbPath}-journal.lock`]) {
    try {
      rmdirSync(dir);
    } catch {
      /* absent */
    }
  }
}
