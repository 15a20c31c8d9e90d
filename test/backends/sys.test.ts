import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandError } from '../../src/sys/run.js';
import { roundUp } from '../../src/backends/fsutil.js';
import { parseMountinfo } from '../../src/sys/mounts.js';
import { run, runResult } from '../../src/sys/run.js';

test('mountinfo parsing decodes escaped paths and skips optional fields', () => {
  const text =
    '41 26 254:0 /tmp/my\\040src /flocker/a\\040b rw,relatime shared:1 master:2 - ext4 /dev/vda rw\n' +
    '50 41 7:0 / /flocker/x rw - ext4 /dev/loop0 rw\n\ngarbage line\n';
  assert.equal(parseMountinfo(text), [
    { mountId: 41, parentId: 26, root: '/tmp/my src', mountPoint: '/flocker/a b', fsType: 'ext4', source: '/dev/vda' },
    { mountId: 50, parentId: 41, root: '/', mountPoint: '/flocker/x', fsType: 'ext4', source: '/dev/loop0' },
  ]);
});

test('run returns stdout and passes arguments without a shell', async () => {
  assert.is(await run('printf', ['%s|', 'a b', '$(echo no)']), 'a b|$(echo no)|');
});

test('a failing command is a CommandError naming the command and its stderr', async () => {
  const e = await run('sh', ['-c', 'echo "no free loop device" >&2; exit 3']).catch((x: unknown) => x);
  assert.instance(e, CommandError);
  const c = e as CommandError;
  assert.is(c.exitCode, 3);
  assert.match(c.command, /^sh -c /);
  assert.is(c.message, 'sh failed: no free loop device');
  assert.is((await runResult('sh', ['-c', 'exit 2'], { okCodes: [2] })).code, 2);
});

test('a missing program says which package to install', async () => {
  const e = (await run('mkfs.ext4-nonexistent', []).catch((x: unknown) => x)) as CommandError;
  assert.instance(e, CommandError);
  assert.match(e.message, 'command not found: mkfs.ext4-nonexistent');
});

test('sizes round up to the allocation unit and nonsense sizes are refused', () => {
  assert.is(roundUp(1, 4096), 4096);
  assert.is(roundUp(8192, 4096), 8192);
  assert.throws(() => roundUp(0, 1));
  assert.throws(() => roundUp(1.5, 1));
});

test.run();
