// Loop devices: made and removed with util-linux losetup, listed from sysfs (losetup as fallback).
import { readdir, readFile, realpath } from 'node:fs/promises';
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

/** Attaches `file` to the first free loop device and returns the device path. */
export async function attachLoop(file: string): Promise<string> {
  const out = await run('losetup', ['--find', '--show', file]);
  return out.trim();
}

export async function detachLoop(device: string): Promise<void> {
  await run('losetup', ['--detach', device]);
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
