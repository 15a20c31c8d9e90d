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

/**
 * Unmount everything below the mount roots (deepest first), then detach loop devices backed by
 * files below `pool`. Twice: a pool that is itself a loop-mounted filesystem (p2p) is busy
 * until the loop devices of the images inside it are detached.
 */
export async function releaseHostResources(mountRoots: readonly string[], pool: string): Promise<CleanupReport> {
  const unmounted: string[] = [];
  const detached: string[] = [];
  const failures = new Map<string, string>();
  for (let pass = 0; pass < 2; pass++) {
    let mounts: { mountPoint: string }[] = [];
    try {
      mounts = (await listMounts()).filter((m) => mountRoots.some((r) => under(m.mountPoint, r)));
    } catch (e) {
      failures.set('mount table', `cannot read the mount table: ${errorMessage(e)}`);
    }
    for (const m of mounts.sort((a, b) => b.mountPoint.length - a.mountPoint.length)) {
      try {
        await umount(m.mountPoint);
        unmounted.push(m.mountPoint);
        failures.delete(m.mountPoint);
      } catch (e) {
        failures.set(m.mountPoint, `umount ${m.mountPoint}: ${errorMessage(e)}`);
      }
    }
    if (process.getuid?.() !== 0) continue;
    try {
      // Deepest backing file first: an image inside a pool before the pool's own device.
      const loops = (await listLoops()).filter((l) => under(l.backingFile.replace(/ \(deleted\)$/, ''), pool));
      for (const loop of loops.sort((a, b) => b.backingFile.length - a.backingFile.length)) {
        if (detached.includes(loop.device)) continue;
        try {
          await detachLoop(loop.device);
          detached.push(loop.device);
          failures.delete(loop.device);
        } catch (e) {
          failures.set(loop.device, `losetup -d ${loop.device}: ${errorMessage(e)}`);
        }
      }
    } catch (e) {
      failures.set('loops', `cannot list loop devices: ${errorMessage(e)}`);
    }
    if (failures.size === 0) break;
  }
  return { unmounted, detached, problems: [...failures.values()] };
}
