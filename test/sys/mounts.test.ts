// mount/umount against the real kernel: what the backends rely on, through the system calls.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyscallError } from '../../src/sys/libc.js';
import { listMounts, mount, mountAt, umount } from '../../src/sys/mounts.js';
import { skipSuite } from '../support/skip.js';

function mountedInMountinfo(path: string): boolean {
  // Read by hand, not through listMounts: the test checks the module, not itself.
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

/** Unmounts whatever a failed test left stacked at `path`. */
async function unmountAll(path: string): Promise<void> {
  while (mountedInMountinfo(path)) await umount(path);
}

function scratch(): { dir: string; source: string; target: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-mounts-'));
  const source = join(dir, 'source');
  const target = join(dir, 'target');
  mkdirSync(source);
  mkdirSync(target);
  return { dir, source, target };
}

if (process.getuid?.() !== 0) {
  skipSuite('mount(2) needs root');
} else {
  test('a bind mount shows the source at the target, in mountinfo, until unmounted', async () => {
    const { dir, source, target } = scratch();
    try {
      writeFileSync(join(source, 'file'), 'from the source');
      await mount(source, target, { bind: true });
      assert.ok(mountedInMountinfo(target), 'the bind mount is not in /proc/self/mountinfo');
      assert.is(readFileSync(join(target, 'file'), 'utf8'), 'from the source');
      assert.is((await mountAt(target))?.root, source);
      await umount(target);
      assert.not.ok(mountedInMountinfo(target), 'still in /proc/self/mountinfo after umount');
      assert.is((await listMounts()).find((m) => m.mountPoint === target), undefined);
    } finally {
      await unmountAll(target);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a filesystem mount passes its type and its own options', async () => {
    const { dir, target } = scratch();
    try {
      await mount('flocker-test', target, { type: 'tmpfs', options: 'size=1m,mode=0711' });
      const m = await mountAt(target);
      assert.is(m?.fsType, 'tmpfs');
      assert.is(m?.source, 'flocker-test');
      const opts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target) ?? '';
      assert.match(opts, /size=1024k/);
      assert.match(opts, /mode=711/);
    } finally {
      await unmountAll(target);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('generic options read as mount -o: a read-only bind remount refuses writes', async () => {
    const { dir, source, target } = scratch();
    try {
      await mount(source, target, { bind: true });
      await mount('none', target, { options: 'remount,bind,ro' });
      const e = (() => {
        try {
          writeFileSync(join(target, 'file'), 'x');
          return undefined;
        } catch (x) {
          return x as NodeJS.ErrnoException;
        }
      })();
      assert.is(e?.code, 'EROFS');
      writeFileSync(join(source, 'file'), 'still writable at the source');
    } finally {
      await unmountAll(target);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unmounting what is not mounted fails saying so, with the errno as code', async () => {
    const { dir, target } = scratch();
    try {
      const e = await umount(target).catch((x: unknown) => x);
      assert.instance(e, SyscallError);
      assert.is((e as SyscallError).code, 'EINVAL');
      assert.is((e as SyscallError).message, `umount ${target} failed: EINVAL (not mounted)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failed mount says what, where and why', async () => {
    const { dir, target } = scratch();
    try {
      const missing = join(dir, 'no-such-device');
      const e = await mount(missing, target, { type: 'ext4', options: 'noinit_itable' }).catch((x: unknown) => x);
      assert.instance(e, SyscallError);
      assert.is((e as SyscallError).message, `mount ${missing} on ${target} (ext4, noinit_itable) failed: ENOENT (no such file or directory)`);
      const unknown = await mount('x', target, { type: 'no-such-fs' }).catch((x: unknown) => x);
      assert.is((unknown as SyscallError).message, `mount x on ${target} (no-such-fs) failed: ENODEV (unknown filesystem type no-such-fs)`);
      assert.not.ok(mountedInMountinfo(target));
    } finally {
      await unmountAll(target);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a thousand unmounts at once are each answered (none refused for the number in flight)', async () => {
    const { dir } = scratch();
    try {
      const targets = Array.from({ length: 1000 }, (_, i) => join(dir, `missing-${i}`));
      const results = await Promise.all(targets.map((t) => umount(t).then(() => 'unmounted', (e: unknown) => e)));
      for (const r of results) {
        assert.instance(r, SyscallError, String(r));
        assert.is((r as SyscallError).code, 'ENOENT');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unmounting a busy mount fails with EBUSY and leaves it mounted', async () => {
    const { dir, source, target } = scratch();
    try {
      await mount(source, target, { bind: true });
      mkdirSync(join(target, 'inner'));
      await mount(source, join(target, 'inner'), { bind: true });
      const e = await umount(target).catch((x: unknown) => x);
      assert.instance(e, SyscallError);
      assert.is((e as SyscallError).code, 'EBUSY');
      assert.match((e as SyscallError).message, /busy/); // p2p's pool unmount retries on this word
      assert.ok(mountedInMountinfo(target));
    } finally {
      await unmountAll(join(target, 'inner'));
      await unmountAll(target);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
