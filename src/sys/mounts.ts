// Mount table and mount/umount. The table comes from /proc/self/mountinfo, which (unlike `mount`
// output) is unambiguous about paths with spaces and about bind mounts. Mounting and unmounting
// are system calls (libc.ts), not mount(8): the agent does them on every create and move.
import { readFile } from 'node:fs/promises';
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
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The topmost mount at exactly `path` (callers pass a real path), or undefined. */
export async function mountAt(path: string): Promise<MountEntry | undefined> {
  const all = await listMounts();
  return all.filter((m) => m.mountPoint === path).at(-1);
}

/** mount(2)'s MS_BIND. */
const MS_BIND = 0x1000;

/**
 * Mounts `source` on `target` with mount(2), not mount(8): so the filesystem type must be given
 * (no probing), and `options` are the filesystem's own (mount(2)'s data, e.g. "noinit_itable"),
 * not mount(8)'s generic flags such as "ro".
 */
export async function mount(source: string, target: string, opts: { type?: string; bind?: boolean; options?: string } = {}): Promise<void> {
  const detail = [opts.type, opts.options].filter((x) => x !== undefined && x !== '').join(', ');
  const what = `mount ${opts.bind ? '--bind ' : ''}${source} on ${target}${detail ? ` (${detail})` : ''}`;
  if (!opts.bind && !opts.type) throw new TypeError(`${what}: a filesystem type is needed (mount(2) does not probe for one)`);
  const hints = opts.type ? { ENODEV: `unknown filesystem type ${opts.type}` } : undefined;
  await (await libc()).mount(what, source, target, opts.type ?? null, opts.bind ? MS_BIND : 0, opts.options ?? null, hints);
}

export async function umount(target: string): Promise<void> {
  await (await libc()).umount2(`umount ${target}`, target, 0, { EINVAL: 'not mounted' });
}
