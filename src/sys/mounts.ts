// Mount table and mount/umount. The table comes from /proc/self/mountinfo, which (unlike `mount`
// output) is unambiguous about paths with spaces and about bind mounts. Mounting and unmounting
// are system calls (libc.ts), not mount(8): the agent does them on every create and move.
import { readFileSync } from 'node:fs';
import { libc } from './libc.js';

export interface MountEntry {
  readonly mountId: number;
  readonly parentId: number;
  /** Path inside the source filesystem that is mounted (not "/" for bind mounts). */
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  /** e.g. /dev/loop3, or "tmpfs". */
  readonly source: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 3) continue;
    out.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      root: unescape(fields[3] ?? ''),
      mountPoint: unescape(fields[4] ?? ''),
      fsType: unescape(fields[sep + 1] ?? ''),
      source: unescape(fields[sep + 2] ?? ''),
    });
  }
  return out;
}

export async function listMounts(): Promise<MountEntry[]> {
  // Read directly: the kernel makes it in memory, and through the thread pool it cost a round trip
  // on every mount, unmount and pass.
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The topmost mount at exactly `path` (callers pass a real path), or undefined. */
export async function mountAt(path: string): Promise<MountEntry | undefined> {
  const all = await listMounts();
  return all.filter((m) => m.mountPoint === path).at(-1);
}

const MS_REMOUNT = 0x20;
const MS_BIND = 0x1000;
/** mount(8)'s generic options, which mount(2) takes as flags rather than in its data string. */
const FLAGS: Readonly<Record<string, number>> = {
  rw: 0, ro: 0x1, nosuid: 0x2, nodev: 0x4, noexec: 0x8, remount: MS_REMOUNT, noatime: 0x400, bind: MS_BIND,
};

/**
 * Mounts `source` on `target` with mount(2), not mount(8): the filesystem type must be given (no
 * probing) unless binding or remounting. `options` reads as `mount -o`: the generic ones above
 * become flags, the rest (e.g. "noinit_itable") go to the filesystem as they are.
 */
export async function mount(source: string, target: string, opts: { type?: string; bind?: boolean; options?: string } = {}): Promise<void> {
  let flags = opts.bind ? MS_BIND : 0;
  const data: string[] = [];
  for (const o of (opts.options ?? '').split(',').filter((x) => x !== '')) {
    const flag = FLAGS[o];
    if (flag === undefined) data.push(o);
    else flags |= flag;
  }
  const detail = [opts.type, opts.options].filter((x) => x !== undefined && x !== '').join(', ');
  const what = `mount ${opts.bind ? '--bind ' : ''}${source} on ${target}${detail ? ` (${detail})` : ''}`;
  if (!opts.type && !(flags & (MS_BIND | MS_REMOUNT))) {
    throw new TypeError(`${what}: a filesystem type is needed (mount(2) does not probe for one)`);
  }
  const hints = opts.type ? { ENODEV: `unknown filesystem type ${opts.type}` } : undefined;
  await (await libc()).mount(what, source, target, opts.type ?? null, flags, data.length > 0 ? data.join(',') : null, hints);
}

export async function umount(target: string): Promise<void> {
  await (await libc()).umount2(`umount ${target}`, target, 0, { EINVAL: 'not mounted' });
}
