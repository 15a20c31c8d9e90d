// A host's "share-out" folder: mounts the host makes below it also appear in the default
// namespace, for a service that runs there (dockerd bind-mounting a volume the host's agent
// mounted). Nothing flows the other way, and no other host sees them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseMountinfo } from '../mounts.js';
import { cmd } from './commands.js';
import { under, type Host } from './host.js';
import { eachMountInside, mountsInside } from './mount-ns.js';
import type { Teardown } from './teardown.js';

/**
 * A mount namespace where every mount is private except `shared`, whose copy is the master of
 * the default namespace's (a slave: it receives the host's mounts and sends nothing back).
 * Peer groups are only made by copying, hence: shared in the default namespace first, copied
 * into the new namespace with propagation unchanged, then everything else made private there.
 */
export function makeSharedOutMountNs(host: Host, shared: string): void {
  writeFileSync(host.mountNs, '');
  mkdirSync(shared, { recursive: true });
  cmd('mount', ['--bind', shared, shared]);
  cmd('mount', ['--make-private', shared]);
  cmd('mount', ['--make-shared', shared]);
  cmd('unshare', [`--mount=${host.mountNs}`, '--propagation', 'unchanged', '--', 'true']);
  const others = mountsInside(host.mountNs).map((m) => m.mountPoint).filter((p) => p !== shared);
  eachMountInside(host.mountNs, 'mount --make-private', others);
  cmd('mount', ['--make-slave', shared]);
}

/** The copies of the host's mounts that propagated out, and the share itself, deepest first. */
export function releaseShareOut(shared: string, t: Teardown): void {
  const here = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint)
    .filter((p) => under(p, shared)).sort((a, b) => b.length - a.length);
  for (const p of here) t.attempt(`umount ${p}`, () => { cmd('umount', ['-l', p]); });
}
