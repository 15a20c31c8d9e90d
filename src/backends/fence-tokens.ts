// Fencing tokens for shared pools (directory, loopback): POOL/fences/<dataset_id>.json says which
// forced move (epoch) last took the dataset off which node. Written by the node the dataset was
// forced to, before it touches the volume; read before every attach and mount, so a node that was
// partitioned away and never heard of the fence still cannot attach or expose the dataset again.
import { join } from 'node:path';
import { isUuidV4, type DatasetId } from '../model/ids.js';
import { errno } from './fsutil.js';
import { poolFs } from './pool-fs.js';

export interface FenceToken {
  readonly epoch: number;
  /** The node the forced move took the dataset from. */
  readonly fenced: string;
  /** The node it was forced to. */
  readonly holder: string;
}

export interface FenceTokens {
  read(datasetId: DatasetId): Promise<FenceToken | undefined>;
  write(datasetId: DatasetId, token: FenceToken): Promise<void>;
}

export function poolFenceTokens(rootPath: string): FenceTokens {
  const dir = join(rootPath, 'fences');
  // Every read and write asks poolFs afresh (one statfs): a pool mounted over NFS after the agent
  // started must not get direct calls.
  const file = (id: DatasetId): string => {
    if (!isUuidV4(id)) throw new RangeError(`not a dataset id: ${id}`);
    return join(dir, `${id}.json`);
  };
  return {
    async read(id) {
      let text: string;
      try {
        text = await poolFs(rootPath).readText(file(id));
      } catch (e) {
        if (errno(e) === 'ENOENT') return undefined;
        throw e;
      }
      const o = JSON.parse(text) as Partial<FenceToken>;
      if (typeof o.epoch !== 'number' || typeof o.fenced !== 'string' || typeof o.holder !== 'string') {
        throw new Error(`fencing token ${file(id)} is damaged; remove it only once no node exposes the dataset`);
      }
      return { epoch: o.epoch, fenced: o.fenced, holder: o.holder };
    },
    async write(id, token) {
      const fs = poolFs(rootPath);
      await fs.mkdir(dir, { recursive: true });
      const tmp = `${file(id)}.${process.pid}.tmp`;
      await fs.writeText(tmp, `${JSON.stringify(token)}\n`);
      await fs.rename(tmp, file(id));
    },
  };
}
