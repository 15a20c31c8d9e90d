// npm run bench: every test/bench/*.ts except this one, in sequence (benchmarks must not share
// two cores with each other), each in its own `node --import tsx` process. Their figures go
// straight to our stdout; a failing benchmark is reported and makes the run fail at the end.
// Each runs in a process group of its own, and a benchmark past its time (or this runner being
// stopped) takes the whole group down: a benchmark's control service and client processes must
// not outlive it and load the machine for whatever runs next.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== basename(fileURLToPath(import.meta.url)) && !f.endsWith('.d.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  process.stdout.write('bench: no benchmarks matched\n');
  process.exit(0);
}
const BENCH_TIMEOUT_MS = 15 * 60_000;
const GRACE_MS = 10_000;

let current: number | undefined;
let stopping = false;
const killGroup = (signal: NodeJS.Signals): void => {
  if (current === undefined) return;
  try {
    process.kill(-current, signal);
  } catch {
    // Already gone.
  }
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    stopping = true;
    killGroup('SIGTERM');
    setTimeout(() => { killGroup('SIGKILL'); process.exit(1); }, GRACE_MS).unref();
  });
}

function runOne(file: string): Promise<{ status: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, file)], { cwd: root, stdio: 'inherit', detached: true });
    current = child.pid;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), GRACE_MS).unref();
    }, BENCH_TIMEOUT_MS);
    child.once('exit', (status, signal) => {
      clearTimeout(timer);
      // Whatever the benchmark left behind in its group goes with it.
      killGroup('SIGKILL');
      current = undefined;
      resolve({ status, signal, timedOut });
    });
  });
}

const failed: string[] = [];
for (const f of files) {
  if (stopping) break;
  process.stdout.write(`\n=== bench ${f}\n`);
  const started = performance.now();
  const r = await runOne(f);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) failed.push(f);
  const why = r.timedOut ? `timed out after ${BENCH_TIMEOUT_MS / 60_000} min` : (r.signal ?? `exit ${r.status}`);
  process.stdout.write(`=== ${f}: ${r.status === 0 ? 'done' : `FAILED (${why})`} in ${secs} s\n`);
}
process.stdout.write(`\nbench: ${files.length - failed.length} of ${files.length} benchmark(s) ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}\n`);
process.exit(failed.length ? 1 : 0);
