// Synchronous iproute2/util-linux calls for the simulated hosts. Synchronous on purpose: the
// teardown must also run from a process 'exit' handler, where nothing asynchronous finishes.
import { spawnSync } from 'node:child_process';
import { UserError } from '../../errors.js';

/** Anything that stops us making (or removing) simulated hosts; says what to do about it. */
export class HostsError extends UserError {
  override readonly name = 'HostsError';
}

const PACKAGES: Readonly<Record<string, string>> = { ip: 'iproute2', nsenter: 'util-linux', unshare: 'util-linux', losetup: 'util-linux', umount: 'mount', mount: 'mount' };

export interface CmdResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; a missing program is always a HostsError, a failure only when `check`. */
export function cmd(command: string, args: readonly string[], check = true, timeoutMs = 30_000): CmdResult {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    const pkg = PACKAGES[command];
    throw new HostsError(`command not found: ${command}${pkg ? ` (install the ${pkg} package)` : ''}`);
  }
  const ok = r.status === 0;
  if (!ok && check) {
    const why = (r.stderr || r.error?.message || `exit ${r.status ?? r.signal}`).trim();
    throw new HostsError(`${[command, ...args].join(' ')} failed: ${why}`);
  }
  return { ok, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Root and the three programs, checked before anything is made. */
export function requireHostTools(): void {
  if (process.getuid?.() !== 0) {
    throw new HostsError('simulated hosts need root (network and mount namespaces, a bridge): run as root');
  }
  cmd('ip', ['-V']);
  cmd('nsenter', ['--version']);
  cmd('unshare', ['--version']);
}

/** Blocks the thread for `ms` (teardown from an exit handler has no event loop to wait on). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
