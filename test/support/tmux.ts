// Driving a program in a real pseudo-terminal: a private tmux server (its own socket, so tests
// never meet each other's sessions) and a poll for what the screen shows.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export type Tmux = (...args: string[]) => string;

/** A tmux command runner on a server of our own; a failing command throws with tmux's stderr. */
export function privateTmux(): Tmux {
  const socket = `flocker-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  return (...args) => {
    const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
}

/** Read every 200 ms until `check` accepts the text (returned); the error shows the last read. */
export async function waitFor(what: string, check: (s: string) => boolean, read: () => string, ms = 30_000): Promise<string> {
  const end = Date.now() + ms;
  let s = '';
  while (Date.now() < end) {
    s = read();
    if (check(s)) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
}
