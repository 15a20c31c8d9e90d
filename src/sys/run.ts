// Runs OS commands without a shell, so no argument is ever interpreted. A failure carries the
// command line and its stderr, which is what a person needs to act on it.
import { execFile, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** An OS command failed; carries what a person needs: the command line and its stderr. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(readonly command: string, readonly exitCode: number | null, readonly stderr: string) {
    super(`${command.split(' ')[0]} failed: ${stderr.trim() || `exit code ${exitCode}`}`);
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Exit codes that are answers rather than failures (e.g. blkid's 2 = "nothing found"). */
  readonly okCodes?: readonly number[];
  /** 0: no limit (long transfers). */
  readonly timeoutMs?: number;
  /** Kills the command (SIGTERM) when aborted. */
  readonly signal?: AbortSignal;
}

const HINTS: Readonly<Record<string, string>> = {
  losetup: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  blkid: 'util-linux',
  'mkfs.ext4': 'e2fsprogs',
  btrfs: 'btrfs-progs',
  'mkfs.btrfs': 'btrfs-progs',
};

function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function notFound(cmd: string, line: string): CommandError {
  const pkg = HINTS[cmd];
  return new CommandError(line, null, `command not found: ${cmd}${pkg ? ` (install the ${pkg} package)` : ''}`);
}

export function runResult(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const okCodes = opts.okCodes ?? [];
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' },
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const code = (err as NodeJS.ErrnoException & { code?: unknown }).code;
        if (typeof code === 'number' && okCodes.includes(code)) return resolve({ code, stdout, stderr });
        const line = commandLine(cmd, args);
        if (code === 'ENOENT') return reject(notFound(cmd, line));
        if (opts.signal?.aborted) return reject(opts.signal.reason instanceof Error ? opts.signal.reason : new Error(`${cmd} aborted`));
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

/**
 * Runs a command whose stdout is data, not text (e.g. `btrfs send`), piping it into `out` (which
 * is ended). Resolves when the command exited 0 and `out` took every byte.
 */
export async function runToStream(cmd: string, args: readonly string[], out: Writable, opts: { readonly signal?: AbortSignal } = {}): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, ...(opts.signal ? { signal: opts.signal } : {}) });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 65536) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const line = commandLine(cmd, args);
  try {
    const [, code] = await Promise.all([pipeline(child.stdout, out), exited]);
    if (code !== 0) throw new CommandError(line, code, stderr);
  } catch (e) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error(`${cmd} aborted`);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && (e as NodeJS.ErrnoException).syscall?.startsWith('spawn')) throw notFound(cmd, line);
    throw e;
  }
}
