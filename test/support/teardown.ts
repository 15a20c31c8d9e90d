// Last-resort teardown for a test process that is ending without its after-hooks: the runner's
// SIGTERM at a file's timeout, or Ctrl-C. Node ends a process on such a signal without running
// its 'exit' handlers, which is where every harness kills its children and frees what they made;
// importing this module (the runner preloads it in every test file) turns the signal into a
// normal exit so those handlers run.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseMountinfo } from '../../src/sys/mounts.js';

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
for (const [sig, n] of Object.entries(SIGNALS)) process.once(sig, () => process.exit(128 + n));

/**
 * Synchronously unmount everything below `dir` (deepest first, lazily: a killed process may still
 * hold it) and detach the loop devices backed by files below it. For 'exit' handlers.
 */
export function releaseUnder(dir: string): void {
  const points = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint).filter((p) => p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p]);
  if (process.getuid?.() !== 0) return;
  const r = spawnSync('losetup', ['--list', '--all', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const [dev, ...file] = line.trim().split(/\s+/);
    if (dev && file.join(' ').startsWith(`${dir}/`)) spawnSync('losetup', ['-d', dev]);
  }
}
