// The hand-off marker, P/handed-off/<id>.json = {to, snapshot}: once it exists the live copy here
// was given to node `to` at `snapshot` and is never exposed again. It is the one fact a crash
// must never lose, so it is written durably (file and folder synced) before anyone is told.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errno } from '../fsutil.js';
import type { HandOff } from './pool-api.js';

export async function writeHandOff(path: string, h: HandOff): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(3).toString('hex')}`;
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(JSON.stringify({ to: h.to, snapshot: h.snapshot }) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dirname(path), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** null when there is no marker: the copy was not handed off. */
export async function readHandOff(path: string): Promise<HandOff | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
  const doc = JSON.parse(text) as { to?: unknown; snapshot?: unknown };
  if (typeof doc.to !== 'string' || typeof doc.snapshot !== 'string') throw new Error(`hand-off marker ${path} is malformed`);
  return { to: doc.to, snapshot: doc.snapshot };
}
