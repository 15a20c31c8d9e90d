// The mount side of the simulated hosts: each host has a persistent mount namespace of its own
// (kept by a bind mount on a file), so an agent restarted in it finds the mounts it left, and at
// teardown whatever the host mounted below its folder, loop devices included, is released.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseMountinfo, type MountEntry } from '../mounts.js';
import { cmd, sleepSync, type CmdResult } from './commands.js';
import { RUN_ROOT, under, type Host } from './host.js';
import type { Teardown } from './teardown.js';

export function isMountPoint(path: string): boolean {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === path);
}

/** Runs a command inside the mount namespace kept at `mountNs` (and only that namespace). */
export function inMountNs(mountNs: string): (command: string, args: readonly string[], check?: boolean) => CmdResult {
  return (command, args, check = true) => cmd('nsenter', [`--mount=${mountNs}`, '--', command, ...args], check);
}

export function mountsInside(mountNs: string): MountEntry[] {
  return parseMountinfo(inMountNs(mountNs)('cat', ['/proc/self/mountinfo']).stdout);
}

/** `sh -c` over each path as an argument, not spliced into the script: mount points may hold any character. */
export function eachMountInside(mountNs: string, action: string, paths: readonly string[]): void {
  inMountNs(mountNs)('sh', ['-c', `for m; do ${action} "$m" 2>/dev/null; done; true`, 'sh', ...new Set(paths)]);
}

/** A mount namespace that shares nothing with the default one from now on, either way. */
export function makePrivateMountNs(host: Host): void {
  writeFileSync(host.mountNs, '');
  cmd('unshare', [`--mount=${host.mountNs}`, '--propagation', 'private', '--', 'true']);
}

/**
 * A new mount namespace starts as a copy of every mount here, and a private copy keeps its
 * filesystem alive after the original is unmounted: a loop device someone else (another test,
 * another cluster) mounted could then never be detached while this host lives. So the copies no
 * host needs go at once: loop-backed filesystems, namespace files, other hosts' folders.
 */
export function dropPinningCopies(host: Host): void {
  // Never what holds the host's own folder, our working folder or our program.
  const needed = [host.dir, host.shareOut, process.cwd(), process.execPath].filter((p): p is string => p !== undefined);
  const drop = mountsInside(host.mountNs)
    .filter((m) => /^\/dev\/loop\d+$/.test(m.source) || m.fsType === 'nsfs' || under(m.mountPoint, RUN_ROOT))
    .filter((m) => !needed.some((p) => under(p, m.mountPoint) || under(m.mountPoint, p)))
    .map((m) => m.mountPoint)
    .sort((a, b) => b.length - a.length);
  if (drop.length === 0) return;
  eachMountInside(host.mountNs, 'umount -l', drop);
}

/** Its /sys is its network's, as `ip netns exec` gives; mounted once everything is private. */
export function mountHostSysfs(host: Host): void {
  cmd('nsenter', [`--net=/run/netns/${host.netns}`, `--mount=${host.mountNs}`, '--', 'mount', '-t', 'sysfs', 'sysfs', '/sys']);
}

/** Releases what the host mounted below its folder, then the namespace itself; safe on a half-made host. */
export function releaseMountNs(host: Host, t: Teardown): void {
  if (isMountPoint(host.mountNs)) {
    const dir = host.dir;
    if (dir !== undefined) t.attempt(`releasing the mounts of ${host.name}`, () => releaseInside(host.mountNs, dir, t));
    t.attempt(`releasing ${host.name}'s mount namespace`, () => { cmd('umount', [host.mountNs]); });
  }
  rmSync(host.mountNs, { force: true });
}

interface LoopJson { loopdevices?: { name?: string; 'back-file'?: string | null }[] }

/**
 * Inside one host's mount namespace: unmount everything below `dir` and detach the loop devices
 * backed by files below it. Loop devices are global, so they outlive the namespace unless
 * detached here; their backing paths are read inside the namespace (before anything is
 * unmounted), where the pool they may live in is still mounted.
 */
function releaseInside(mountNs: string, dir: string, t: Teardown): void {
  const inside = inMountNs(mountNs);
  const loops = (): { device: string; file: string }[] => {
    const text = inside('losetup', ['--list', '--all', '--json', '-O', 'NAME,BACK-FILE']).stdout;
    const doc = text.trim() === '' ? {} : JSON.parse(text) as LoopJson;
    return (doc.loopdevices ?? [])
      .map((d) => ({ device: d.name ?? '', file: (d['back-file'] ?? '').replace(/ \(deleted\)$/, '') }))
      .filter((d) => d.device !== '' && under(d.file, dir));
  };
  const ours = loops();
  const detach = (device: string): void => {
    if (!ours.some((l) => l.device === device) || t.detached.includes(device)) return;
    // On a device still in use the kernel only marks it to go when released, and says yes.
    if (inside('losetup', ['--detach', device], false).ok) t.detached.push(device);
  };
  let pending = mountsInside(mountNs)
    .filter((m) => under(m.mountPoint, dir))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  // Passes until nothing more comes off: a pool's filesystem is busy until the loop devices of
  // the images inside it are detached, whatever the depth of their mount points.
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    for (const m of [...pending]) {
      if (!inside('umount', [m.mountPoint], false).ok) continue;
      t.unmounted.push(m.mountPoint);
      pending = pending.filter((p) => p !== m);
      progress = true;
      detach(m.source);
    }
  }
  for (const m of pending) {
    if (inside('umount', ['-l', m.mountPoint], false).ok) t.unmounted.push(m.mountPoint);
    else t.problems.push(`umount ${m.mountPoint} (in the host's mount namespace) failed`);
  }
  for (const l of [...ours].sort((a, b) => b.file.length - a.file.length)) detach(l.device);
  const left = (): string[] => ours.filter((l) => existsSync(`/sys/block/${l.device.replace('/dev/', '')}/loop`)).map((l) => l.device);
  // A lazily unmounted pool lets go of its device only once the kernel has finished with it.
  for (let i = 0; i < 200 && left().length > 0; i++) sleepSync(50);
  for (const d of left()) t.problems.push(`loop device ${d} is still attached`);
}
