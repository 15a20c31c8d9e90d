// Loop devices against the real kernel: attach and detach through the ioctls, seen by sysfs and
// by util-linux's losetup as if losetup had made them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyscallError } from '../../src/sys/libc.js';
import { attachLoop, backingFileOf, detachLoop, listLoops, loopsForFile } from '../../src/sys/losetup.js';
import { skipSuite } from '../support/skip.js';

function image(dir: string, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, '');
  truncateSync(file, 8 << 20);
  return file;
}

function sysfsBacking(device: string): string | null {
  try {
    return readFileSync(`/sys/block/${device.replace('/dev/', '')}/loop/backing_file`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Detaches every loop device still backed by a file under `dir` (a failed test's leftovers). */
async function detachUnder(dir: string): Promise<void> {
  for (const l of await listLoops()) if (l.backingFile.startsWith(`${dir}/`)) await detachLoop(l.device).catch(() => undefined);
}

if (process.getuid?.() !== 0) {
  skipSuite('loop devices need root');
} else {
  test('attach: sysfs and losetup show the backing file; the device reads and writes the file; detach releases it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flocker-losetup-'));
    try {
      const file = image(dir, 'a.img');
      const device = await attachLoop(file);
      assert.match(device, /^\/dev\/loop\d+$/);
      assert.is(sysfsBacking(device), file);
      assert.is(await backingFileOf(device), file);
      assert.equal(await loopsForFile(file), [device]);
      const listed = execFileSync('losetup', ['--list', '--noheadings', '-O', 'NAME,BACK-FILE,RO', device], { encoding: 'utf8' }).trim().split(/\s+/);
      assert.equal(listed, [device, file, '0']);

      const fd = openSync(device, 'r+');
      try {
        writeSync(fd, Buffer.from('through the device'), 0, 18, 4096);
      } finally {
        closeSync(fd);
      }
      await detachLoop(device);
      assert.is(sysfsBacking(device), null);
      const back = Buffer.alloc(18);
      const f = openSync(file, 'r');
      try {
        readSync(f, back, 0, 18, 4096);
      } finally {
        closeSync(f);
      }
      assert.is(back.toString(), 'through the device');
    } finally {
      await detachUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('attaches racing for the same free device each get their own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flocker-losetup-'));
    try {
      const files = ['a', 'b', 'c', 'd'].map((n) => image(dir, `${n}.img`));
      const devices = await Promise.all(files.map((f) => attachLoop(f)));
      assert.is(new Set(devices).size, files.length, `devices: ${devices.join(' ')}`);
      devices.forEach((d, i) => assert.is(sysfsBacking(d), files[i]));
      for (const d of devices) await detachLoop(d);
      for (const d of devices) assert.is(sysfsBacking(d), null);
    } finally {
      await detachUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('detaching a device with nothing attached fails saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flocker-losetup-'));
    try {
      const device = await attachLoop(image(dir, 'a.img'));
      await detachLoop(device);
      const e = await detachLoop(device).catch((x: unknown) => x);
      assert.instance(e, SyscallError);
      assert.is((e as SyscallError).code, 'ENXIO');
      assert.is((e as SyscallError).message, `losetup --detach ${device} failed: ENXIO (no file is attached to it)`);
    } finally {
      await detachUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('attaching a missing file fails naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flocker-losetup-'));
    try {
      const missing = join(dir, 'missing.img');
      const e = await attachLoop(missing).catch((x: unknown) => x);
      assert.instance(e, Error);
      assert.ok((e as Error).message.includes(missing), (e as Error).message);
    } finally {
      await detachUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
