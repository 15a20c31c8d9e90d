// The directory backend must work for a user who is not root (symlink exposure), so run its
// contract again as `nobody` when we are root and can drop privileges.
import { execFile } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const canDrop = process.getuid?.() === 0;

test('directory backend contract passes as an unprivileged user', async () => {
  if (!canDrop) return console.log('skipping: dropping privileges needs root');
  const args = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', 'test/backends/directory.test.ts'];
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile('setpriv', args, { env: { ...process.env, HOME: '/tmp' }, timeout: 50_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: stdout + stderr }),
    );
    child.stdin?.end();
  });
  // Hide the child's summary lines from the test runner, which reads the first one it sees.
  const out = r.out.replace(/^\s*(Total|Passed|Skipped|Duration):.*$/gm, '');
  const m = /Total:\s+(\d+)\s+Passed:\s+(\d+)/.exec(r.out);
  assert.ok(m && Number(m[1]) > 0 && m[1] === m[2], `child run failed:\n${out}`);
  assert.is(r.code, 0, out);
  assert.match(r.out, 'skipping directory (bind mount)');
});

test.run();
