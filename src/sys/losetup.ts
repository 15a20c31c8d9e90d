// Loop devices: made and removed with the loop ioctls (as losetup does, without spawning it: the
// agent attaches and detaches on every loopback create and move), listed from sysfs (losetup as
// fallback).
import { open, readdir, readFile, realpath } from 'node:fs/promises';
import { libc, SyscallError } from './libc.js';
import { run } from './run.js';

export interface LoopDevice {
  readonly device: string;
  /** As the kernel reports it now; may end in " (deleted)". */
  readonly backingFile: string;
}

interface LosetupJson {
  loopdevices?: { name?: string; 'back-file'?: string | null }[];
}

function parse(stdout: string): LoopDevice[] {
  if (stdout.trim() === '') return [];
  const doc = JSON.parse(stdout) as LosetupJson;
  return (doc.loopdevices ?? [])
    .filter((d) => typeof d.name === 'string')
    .map((d) => ({ device: d.name as string, backingFile: d['back-file'] ?? '' }));
}

// <linux/loop.h>
const LOOP_CLR_FD = 0x4c01;
const LOOP_CONFIGURE = 0x4c0a;
const LOOP_CTL_GET_FREE = 0x4c82;
const LO_NAME_SIZE = 64;
/** struct loop_config: fd, block_size, struct loop_info64 (lo_file_name at 56), 8 reserved u64. */
const LOOP_CONFIG_SIZE = 304;
const LOOP_CONFIG_FILE_NAME = 8 + 56;
/** Another process may take the free device we were given before we bind it: ask again. */
const ATTACH_ATTEMPTS = 16;

function loopConfig(fd: number, name: string): Buffer {
  const config = Buffer.alloc(LOOP_CONFIG_SIZE);
  config.writeUInt32LE(fd, 0);
  // What LOOP_GET_STATUS reports as the file's name, as losetup sets it (the kernel truncates it).
  config.write(name, LOOP_CONFIG_FILE_NAME, LO_NAME_SIZE - 1, 'utf8');
  return config;
}

async function withOpen<T>(path: string, flags: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const handle = await open(path, flags);
  try {
    return await fn(handle.fd);
  } finally {
    await handle.close();
  }
}

/**
 * Attaches `file` (read-write) to the first free loop device and returns the device path: what
 * `losetup --find --show` does, with the ioctls themselves (LOOP_CTL_GET_FREE, LOOP_CONFIGURE).
 */
export async function attachLoop(file: string): Promise<string> {
  const c = await libc();
  const what = `losetup ${file}`;
  const name = await realpath(file);
  return withOpen(file, 'r+', async (backing) => {
    for (let attempt = 1; ; attempt++) {
      const n = await withOpen('/dev/loop-control', 'r+', (ctl) => c.ioctl(what, ctl, LOOP_CTL_GET_FREE, 0, { ENOSPC: 'no free loop device' }));
      const device = `/dev/loop${n}`;
      try {
        await withOpen(device, 'r+', (dev) => c.ioctl(`${what} on ${device}`, dev, LOOP_CONFIGURE, loopConfig(backing, name)));
        return device;
      } catch (e) {
        if (!(e instanceof SyscallError && e.code === 'EBUSY') || attempt >= ATTACH_ATTEMPTS) throw e;
      }
    }
  });
}

/**
 * Detaches the loop device (LOOP_CLR_FD), as `losetup --detach`: while something still has the
 * device open (mounted), the kernel only marks it to be detached on the last close.
 */
export async function detachLoop(device: string): Promise<void> {
  const c = await libc();
  await withOpen(device, 'r', (fd) => c.ioctl(`losetup --detach ${device}`, fd, LOOP_CLR_FD, 0, { ENXIO: 'no file is attached to it' }));
}

/**
 * Every attached loop device. Read from sysfs when it is there: the agent asks on every
 * iteration for every volume, and a file read is far cheaper than spawning losetup.
 */
export async function listLoops(): Promise<LoopDevice[]> {
  const fromSys = await listLoopsSysfs();
  if (fromSys) return fromSys;
  return parse(await run('losetup', ['--list', '--all', '--json', '-O', 'NAME,BACK-FILE']));
}

async function listLoopsSysfs(): Promise<LoopDevice[] | null> {
  let names: string[];
  try {
    names = (await readdir('/sys/block')).filter((n) => /^loop\d+$/.test(n));
  } catch {
    return null;
  }
  const out: LoopDevice[] = [];
  for (const n of names) {
    try {
      // The kernel reports the file's current path, so a rename while attached is followed.
      const backing = (await readFile(`/sys/block/${n}/loop/backing_file`, 'utf8')).replace(/\n$/, '');
      out.push({ device: `/dev/${n}`, backingFile: backing });
    } catch {
      // Not attached (no loop/ directory) or detached while we looked.
    }
  }
  return out.sort((a, b) => a.device.localeCompare(b.device, 'en', { numeric: true }));
}

/**
 * The file behind one loop device, or null if it has none: one sysfs read, where listing every
 * device would cost a read per device.
 */
export async function backingFileOf(device: string): Promise<string | null> {
  const name = /^\/dev\/(loop\d+)$/.exec(device)?.[1];
  if (name !== undefined) {
    try {
      return (await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8')).replace(/\n$/, '');
    } catch {
      // Not attached, or no sysfs: the full listing answers both.
    }
  }
  return (await listLoops()).find((l) => l.device === device)?.backingFile ?? null;
}

/** Every loop device backed by `file` (normally zero or one). */
export async function loopsForFile(file: string): Promise<string[]> {
  const real = await realpath(file);
  return (await listLoops()).filter((l) => l.backingFile === real).map((l) => l.device);
}
