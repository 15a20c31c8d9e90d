// One `cluster up` per folder: a second one would delete the first's cluster.json and pids
// and fight over the control data. DIR/cluster.lock holds the owner's pid; a lock whose
// process is gone (kill -9, a crash) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { UserError } from '../../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ClusterLock {
  release(): void;
}

export function lockClusterDir(lockFile: string, dir: string): ClusterLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return { release: () => rmSync(lockFile, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(lockFile, 'utf8').trim());
      } catch {
        // vanished between open and read: try again
      }
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new UserError(`a cluster is already running in ${dir} (cluster up pid ${owner}); stop it first, or use another --dir`);
      }
      rmSync(lockFile, { force: true }); // stale
    }
  }
  throw new UserError(`cannot lock ${lockFile}: another cluster up is starting in ${dir}`);
}
