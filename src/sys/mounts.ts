// Mount table and mount/umount. The table comes from /proc/self/mountinfo, which (unlike
// `mount` output) is unambiguous about paths with spaces and about bind mounts.
import { readFile } from 'node:fs/promises';
import { run } from './run.js';

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

export async function mount(source: string, target: string, opts: { type?: string; bind?: boolean; options?: string } = {}): Promise<void> {
  const args: string[] = [];
  if (opts.bind) args.push('--bind');
  if (opts.type) args.push('-t', opts.type);
  if (opts.options) args.push('-o', opts.options);
  await run('mount', [...args, source, target]);
}

export async function umount(target: string): Promise<void> {
  await run('umount', [target]);
}
