// Names in a p2p pool: dataset ids and snapshot names are path components, so only well-formed
// ones are accepted or listed (a stray file or a crafted name never reaches a path).
import { readdir } from 'node:fs/promises';
import { asDatasetId, isUuidV4, type DatasetId } from '../../model/ids.js';
import { errno } from '../fsutil.js';

/** `s<13-digit epoch ms>-<4 hex>`: sorts by age, and is one safe path component. */
const SNAPSHOT_NAME = /^s\d{13}-[0-9a-f]{4}$/;

export function isSnapshotName(name: string): boolean {
  return SNAPSHOT_NAME.test(name);
}

export function checkId(id: DatasetId): DatasetId {
  if (!isUuidV4(id) || id !== id.toLowerCase()) throw new RangeError(`not a dataset id: ${JSON.stringify(id)}`);
  return id;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw e;
  }
}

/** Dataset ids named in `dir` (`<id><suffix>`), sorted; anything else there is ignored. */
export async function uuidNames(dir: string, suffix = ''): Promise<DatasetId[]> {
  return (await readdirOrEmpty(dir))
    .filter((n) => n.endsWith(suffix) && isUuidV4(n.slice(0, n.length - suffix.length)))
    .map((n) => asDatasetId(n.slice(0, n.length - suffix.length)))
    .sort();
}

/** Snapshot names in `dir`, oldest first. */
export async function snapshotNames(dir: string): Promise<string[]> {
  return (await readdirOrEmpty(dir)).filter(isSnapshotName).sort();
}
