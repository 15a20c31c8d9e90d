// Single owner of the data directory: a pid file taken with O_EXCL. node-sqlite3-wasm's own lock is
// a `<db>.lock` directory that a crash leaves behind, so only once we own the pid file is it safe
// to clear that directory.
import { linkSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
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
  const tmp = `${path}.${process.pid}.tmp`;
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

function acquire(path: string, tmp: string, what: string): PidLock {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError(`cannot create ${path}: ${(e as Error).message}`);
      }
      const text = readText(path);
      const holder = pidIn(text);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new UserError(`${what} is already running with this data directory (pid ${holder}, ${path})`);
      }
      // Stale: its owner died without cleaning up. Re-read just before removing, so a rival that
      // replaced the stale file a moment ago keeps its fresh lock.
      if (readText(path) !== text) continue;
      try {
        unlinkSync(path);
      } catch {
        /* someone else removed it first; retry */
      }
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
