// Loop devices via util-linux losetup. Devices are found by their backing file's inode
// (losetup --associated), so a file that was renamed while attached is still recognised.
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

export async function listLoops(): Promise<LoopDevice[]> {
  return parse(await run('losetup', ['--list', '--all', '--json', '-O', 'NAME,BACK-FILE']));
}

/** Every loop device backed by `file` (normally zero or one). */
export async function loopsForFile(file: string): Promise<string[]> {
  return parse(await run('losetup', ['--list', '--json', '-O', 'NAME', '--associated', file])).map((d) => d.device);
}
