// What a dataset is, kept in its pool beside the volume, so losing the control service's database
// loses nothing: `flocker adopt` rebuilds the configuration from what agents read here. Shared
// pools (directory, loopback) keep POOL/manifests/<dataset_id>.json, in the same JSON shape the
// p2p pool keeps in live/<dataset_id>/manifest.json.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asDatasetId, isUuidV4, type DatasetId } from '../model/ids.js';
import { errno } from './fsutil.js';

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

/** POOL/manifests/<dataset_id>.json, each replaced whole by a rename. */
export function poolManifests(rootPath: string): ManifestStore {
  const dir = join(rootPath, 'manifests');
  return {
    async read(datasetId) {
      if (!isUuidV4(datasetId)) return undefined;
      try {
        return parse(await readFile(join(dir, `${datasetId}.json`), 'utf8'), asDatasetId(datasetId));
      } catch (e) {
        if (errno(e) === 'ENOENT') return undefined;
        throw e;
      }
    },
    async write(m) {
      if (!isUuidV4(m.datasetId)) throw new RangeError(`not a dataset id: ${m.datasetId}`);
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${m.datasetId}.json`);
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, manifestJson(m));
      await rename(tmp, file);
    },
  };
}
