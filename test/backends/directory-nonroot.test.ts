// The directory backend must work for a user who is not root (symlink exposure), so run its
// contract again as `nobody` when we are root and can drop privileges. `nobody` may not be able
// to read this checkout (a fresh clone in a folder only root can read) nor load tsx from it, so
// the test file is bundled first, with esbuild, into one plain script in a temp folder it can read.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skipTest } from '../support/skip.js';

const canDrop = process.getuid?.() === 0;

test('directory backend contract passes as an unprivileged user', async () => {
  if (!canDrop) return skipTest('dropping privileges needs root');
  const dir = mkdtempSync(join(tmpdir(), 'flocker-nonroot-'));
  let r: { code: number | null; out: string };
  try {
    chmodSync(dir, 0o755);
    const script = join(dir, 'directory.test.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./directory.test.ts', import.meta.url))], outfile: script,
      bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
      // Some bundled CommonJS packages call require() for Node's own modules.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    chmodSync(script, 0o644);
    const args = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script];
    r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile('setpriv', args, { cwd: dir, env: { ...process.env, HOME: '/tmp' }, timeout: 50_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: stdout + stderr }),
      );
      child.stdin?.end();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Hide the child's summary lines from the test runner, which reads the first one it sees.
  const out = r.out.replace(/^\s*(Total|Passed|Skipped|Duration):.*$/gm, '');
  const m = /Total:\s+(\d+)\s+Passed:\s+(\d+)/.exec(r.out);
  assert.ok(m && Number(m[1]) > 0 && m[1] === m[2], `child run failed:\n${out}`);
  assert.is(r.code, 0, out);
  assert.match(r.out, '[skipped suite] directory (bind mount)');
});

test.run();
