// What a dataset is, kept in its pool beside the volume, so losing the control service's database
// loses nothing: `flocker adopt` rebuilds the configuration from what agents read here. Shared
// pools (directory, loopback) keep POOL/manifests/<dataset_id>.json; the p2p pool keeps the same
// JSON inside the dataset's live subvolume (live/<dataset_id>/manifest.json), so it travels with
// every snapshot sent to another node.
import { join } from 'node:path';
import { asDatasetId, isUuidV4, type DatasetId } from '../model/ids.js';
import { errno } from './fsutil.js';
import { poolFs, type PoolFs } from './pool-fs.js';

export interface DatasetManifest {
  readonly datasetId: DatasetId;
  readonly maximumSize: number | null;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ManifestStore {
  /** undefined when the dataset has none (made before manifests existed, or unreadable). */
  read(datasetId: DatasetId): Promise<DatasetManifest | undefined>;
  write(manifest: DatasetManifest): Promise<void>;
}

function parse(text: string, id: DatasetId): DatasetManifest | undefined {
  try {
    const o = JSON.parse(text) as { dataset_id?: unknown; maximum_size?: unknown; metadata?: unknown };
    if (o.dataset_id !== id) return undefined;
    const size = typeof o.maximum_size === 'number' ? o.maximum_size : null;
    const metadata: Record<string, string> = {};
    if (o.metadata && typeof o.metadata === 'object') {
      for (const [k, v] of Object.entries(o.metadata)) if (typeof v === 'string') metadata[k] = v;
    }
    return { datasetId: id, maximumSize: size, metadata };
  } catch {
    return undefined;
  }
}

export function manifestJson(m: DatasetManifest): string {
  return `${JSON.stringify({ dataset_id: m.datasetId, maximum_size: m.maximumSize, metadata: m.metadata })}\n`;
}

/** The manifest of dataset `id` in `file`; undefined if there is none (or it names another dataset). */
export async function readManifestFile(fs: PoolFs, file: string, id: DatasetId): Promise<DatasetManifest | undefined> {
  try {
    return parse(await fs.readText(file), id);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Replaces `file` whole by a rename: a reader sees the old manifest or the new one. */
export async function writeManifestFile(fs: PoolFs, file: string, m: DatasetManifest): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeText(tmp, manifestJson(m));
  await fs.rename(tmp, file);
}

/** POOL/manifests/<dataset_id>.json. */
export function poolManifests(rootPath: string): ManifestStore {
  const dir = join(rootPath, 'manifests');
  // Every read and write asks poolFs afresh (one statfs): a pool mounted over NFS after the agent
  // started must not get direct calls.
  return {
    async read(datasetId) {
      if (!isUuidV4(datasetId)) return undefined;
      return readManifestFile(poolFs(rootPath), join(dir, `${datasetId}.json`), asDatasetId(datasetId));
    },
    async write(m) {
      if (!isUuidV4(m.datasetId)) throw new RangeError(`not a dataset id: ${m.datasetId}`);
      const fs = poolFs(rootPath);
      await fs.mkdir(dir, { recursive: true });
      await writeManifestFile(fs, join(dir, `${m.datasetId}.json`), m);
    },
  };
}
