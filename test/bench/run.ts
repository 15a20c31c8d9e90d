// npm run bench: every test/bench/*.ts except this one, in sequence (benchmarks must not share
// two cores with each other), each in its own `node --import tsx` process. Their figures go
// straight to our stdout; a failing benchmark is reported and makes the run fail at the end.
import { spawnSync } from 'node:child_process';
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
const failed: string[] = [];
for (const f of files) {
  process.stdout.write(`\n=== bench ${f}\n`);
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, f)], { cwd: root, stdio: 'inherit', timeout: 15 * 60_000 });
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) failed.push(f);
  process.stdout.write(`=== ${f}: ${r.status === 0 ? 'done' : `FAILED (${r.signal ?? `exit ${r.status}`})`} in ${secs} s\n`);
}
process.stdout.write(`\nbench: ${files.length - failed.length} of ${files.length} benchmark(s) ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}\n`);
process.exit(failed.length ? 1 : 0);
