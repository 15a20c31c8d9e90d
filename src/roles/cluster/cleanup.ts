// After the agents stop: leave nothing of the cluster attached to the host. Agents run with
// --unmount-on-exit, so this normally finds nothing; it is the safety net for an agent that
// was killed or failed while unmounting, since `cluster up` owns the whole cluster.
import { listLoops, detachLoop } from '../../sys/losetup.js';
import { listMounts, umount } from '../../sys/mounts.js';
import { errorMessage } from '../../errors.js';

const under = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);

export interface CleanupReport {
  readonly unmounted: readonly string[];
  readonly detached: readonly string[];
  readonly problems: readonly string[];
}

/** Unmount everything below the mount roots (deepest first), then detach loop devices backed by pool files. */
export async function releaseHostResources(mountRoots: readonly string[], pool: string): Promise<CleanupReport> {
  const unmounted: string[] = [];
  const detached: string[] = [];
  const problems: string[] = [];
  let mounts: { mountPoint: string }[] = [];
  try {
    mounts = (await listMounts()).filter((m) => mountRoots.some((r) => under(m.mountPoint, r)));
  } catch (e) {
    problems.push(`cannot read the mount table: ${errorMessage(e)}`);
  }
  for (const m of mounts.sort((a, b) => b.mountPoint.length - a.mountPoint.length)) {
    try {
      await umount(m.mountPoint);
      unmounted.push(m.mountPoint);
    } catch (e) {
      problems.push(`umount ${m.mountPoint}: ${errorMessage(e)}`);
    }
  }
  if (process.getuid?.() === 0) {
    try {
      for (const loop of await listLoops()) {
        if (!under(loop.backingFile.replace(/ \(deleted\)$/, ''), pool)) continue;
        try {
          await detachLoop(loop.device);
          detached.push(loop.device);
        } catch (e) {
          problems.push(`losetup -d ${loop.device}: ${errorMessage(e)}`);
        }
      }
    } catch (e) {
      problems.push(`cannot list loop devices: ${errorMessage(e)}`);
    }
  }
  return { unmounted, detached, problems };
}
