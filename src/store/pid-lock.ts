// Single owner of the data directory: a pid file taken with O_EXCL. node-sqlite3-wasm's own lock is
// a `<db>.lock` directory that a crash leaves behind, so only once we own the pid file is it safe
// to clear that directory.
import { closeSync, openSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
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

function readPid(path: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
}

export function takePidLock(path: string, what = 'the control service'): PidLock {
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError(`cannot create ${path}: ${(e as Error).message}`);
      }
      const holder = readPid(path);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new UserError(`${what} is already running with this data directory (pid ${holder}, ${path})`);
      }
      // Stale: its owner died without cleaning up.
      try {
        unlinkSync(path);
      } catch {
        /* someone else removed it first; retry */
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return {
      path,
      release() {
        if (readPid(path) === process.pid) {
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
