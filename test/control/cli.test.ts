import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'control', ...args], { cwd: root, encoding: 'utf8' });

test('--help describes the command with examples', () => {
  const r = run('--help');
  assert.is(r.status, 0);
  for (const s of ['--data-dir', '--api-port', '--agent-port', '--listen', '--certificates-dir', 'control.json', 'Examples']) assert.ok(r.stdout.includes(s), s);
});

test('command-line mistakes are one clear line and a non-zero exit', () => {
  const cases: [string[], RegExp][] = [
    [[], /^flocker: --data-dir is required/],
    [['--data-dir', '/tmp/x', '--api-port', 'abc'], /^flocker: --api-port must be a port number/],
    [['--data-dir', '/tmp/x', '--agent-port', '70000'], /^flocker: --agent-port must be a port number/],
    [['--data-dir', '/tmp/x', '--bogus'], /^flocker: .*--bogus/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args);
    assert.ok(r.status !== 0, args.join(' '));
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}`);
  }
});

test.run();
