// The cluster's processes are this same executable run with another subcommand. In a single
// executable application process.execPath *is* flocker; under node (tsx, or dist/flocker.cjs)
// it is node, so the script (and loaders such as `--import tsx`) go first.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';

function isSea(): boolean {
  try {
    const sea = createRequire(process.execPath)('node:sea') as { isSea?: () => boolean };
    return sea.isSea?.() ?? false;
  } catch {
    return false; // node:sea is missing before Node 20.12: then we are not a SEA either
  }
}

/** argv that re-runs this program: [command, ...prefix args]. */
export function selfCommand(): { command: string; prefix: string[] } {
  if (isSea() || process.argv[1] === undefined) return { command: process.execPath, prefix: [] };
  return { command: process.execPath, prefix: [...process.execArgv, process.argv[1]] };
}

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly logFile: string;
  /** Resolves with how it ended, whoever ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `flocker ARGS...`, its stdout and stderr in logFile (this run's only, so its last line is
 * news). `wrapper` runs it through another program that execs it (e.g. into a simulated host), so
 * the pid is still flocker's.
 */
export function spawnSelf(name: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env, wrapper: readonly string[] = []): Child {
  const { command, prefix } = selfCommand();
  const [program, ...argv] = [...wrapper, command, ...prefix, ...args] as [string, ...string[]];
  const fd = openSync(logFile, 'w');
  let proc: ChildProcess;
  try {
    // detached: a terminal's Ctrl-C reaches only us, so we decide the order in which things stop.
    proc = spawn(program, argv, { stdio: ['ignore', fd, fd], env, detached: true });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', () => resolve({ code: null, signal: null }));
  });
  return { name, proc, logFile, exited };
}

/** SIGTERM, then SIGKILL after graceMs; resolves once it is gone. */
export async function stopChild(c: Child, graceMs = 10_000): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(timer);
}
