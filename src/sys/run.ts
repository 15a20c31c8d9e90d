// Runs OS commands without a shell, so no argument is ever interpreted. A failure carries the
// command line and its stderr, which is what a person needs to act on it.
import { execFile } from 'node:child_process';
import { CommandError } from '../backends/backend.js';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Exit codes that are answers rather than failures (e.g. blkid's 2 = "nothing found"). */
  readonly okCodes?: readonly number[];
  readonly timeoutMs?: number;
}

const HINTS: Readonly<Record<string, string>> = {
  losetup: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  blkid: 'util-linux',
  'mkfs.ext4': 'e2fsprogs',
};

function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export function runResult(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const okCodes = opts.okCodes ?? [];
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const code = (err as NodeJS.ErrnoException & { code?: unknown }).code;
        if (typeof code === 'number' && okCodes.includes(code)) return resolve({ code, stdout, stderr });
        const line = commandLine(cmd, args);
        if (code === 'ENOENT') {
          const pkg = HINTS[cmd];
          return reject(new CommandError(line, null, `command not found: ${cmd}${pkg ? ` (install the ${pkg} package)` : ''}`));
        }
        if (err.killed) return reject(new CommandError(line, null, `timed out or killed (${err.signal ?? 'timeout'}) ${stderr}`));
        reject(new CommandError(line, typeof code === 'number' ? code : null, stderr || err.message));
      },
    );
  });
}

/** Runs a command and returns its stdout; any non-zero exit is a CommandError. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await runResult(cmd, args, opts)).stdout;
}
