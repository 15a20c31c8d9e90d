#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts[x]) in its own Node process under uvu, two at a time,
// so one file's leftover handles or crash can't hang or poison another. Prints each file's
// output, then one plain summary line: "N passed, N failed, N skipped". A test that cannot run
// here prints a mark (test/support/skip.ts) and is counted as skipped, never as passed.
// Usage: npm test [-- PATTERN...]   (substring filters on the file path)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const jobs = Number(process.env.FLOCKER_TEST_JOBS ?? 2);
const perFileTimeoutMs = Number(process.env.FLOCKER_TEST_TIMEOUT_MS ?? 10 * 60_000);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : walk(p);
    return /\.test\.tsx?$/.test(name) ? [p] : [];
  });
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function runFile(file) {
  return new Promise((resolveRun) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/teardown.ts', '--import', './test/support/hook-errors.ts', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let summary;
    let killer;
    // SIGTERM first, so the file's exit handlers clean up what its tests made (test/support/teardown.ts);
    // SIGKILL only if that itself hangs.
    let hardKiller;
    let stopped = false;
    const stop = () => {
      stopped = true;
      child.kill('SIGTERM');
      hardKiller ??= setTimeout(() => child.kill('SIGKILL'), 60_000);
    };
    const onData = (chunk) => {
      out += chunk;
      const m = /Total:\s+(\d+)\s+Passed:\s+(\d+)\s+Skipped:\s+(\d+)/.exec(out);
      if (m && !summary) {
        summary = { total: +m[1], passed: +m[2], skipped: +m[3] };
        // uvu has finished; a test that left a handle open must not hang the run.
        killer = setTimeout(stop, 5000);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timeout = setTimeout(() => {
      out += `\n[test runner] ${file} timed out after ${perFileTimeoutMs} ms; stopped\n`;
      stop();
    }, perFileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timeout);
      clearTimeout(killer);
      clearTimeout(hardKiller);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      let passed = 0;
      let failed = 0;
      let skipped = 0;
      const skippedTests = (out.match(/\[skipped test\] /g) ?? []).length;
      const skippedSuites = (out.match(/\[skipped suite\] /g) ?? []).length;
      if (summary) {
        passed = Math.max(0, summary.passed - skippedTests);
        skipped = summary.skipped + skippedTests + skippedSuites;
        failed = summary.total - summary.passed;
        if (failed === 0 && code !== 0 && code !== null && !stopped) failed = 1; // crashed after its summary
      } else {
        failed = 1; // crashed or hung before uvu could report
      }
      resolveRun({ file, out, passed, failed, skipped, secs });
    });
  });
}

const results = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const r = await runFile(file);
    results.push(r);
    process.stdout.write(`\n=== ${r.file} (${r.secs}s): ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped\n${r.out.trimEnd()}\n`);
  }
}
await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const skipped = results.reduce((n, r) => n + r.skipped, 0);
const bad = results.filter((r) => r.failed > 0).map((r) => r.file);
if (bad.length) process.stdout.write(`\nFailing files:\n${bad.map((f) => `  ${f}`).join('\n')}\n`);
if (files.length === 0) process.stdout.write('no test files matched\n');
// The last line is exactly this, for CI to read.
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
