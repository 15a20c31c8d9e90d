// `flocker store copy`: one whole configuration from one store into another (SQLite → etcd when
// outgrowing one machine, and back), identity and generation included, so agents see the same
// store continuing rather than a stranger.
import { UserError } from '../errors.js';
import { describeStore, openStoreSpec, type OpenStoreOptions, type StoreSpec } from './open.js';
import type { ConfigurationStore } from './store.js';

export interface CopyResult {
  readonly datasets: number;
  readonly leases: number;
  readonly generation: number;
}

function isEmpty(s: ConfigurationStore): boolean {
  return s.deployment.datasets.size === 0 && s.deployment.leases.size === 0;
}

export async function copyStore(from: StoreSpec, to: StoreSpec, o: { force: boolean } & Pick<OpenStoreOptions, 'tls' | 'waitSeconds'>): Promise<CopyResult> {
  if (describeStore(from) === describeStore(to)) throw new UserError(`FROM and TO are the same store (${describeStore(from)})`);
  const opts = { ...(o.tls ? { tls: o.tls } : {}), waitSeconds: o.waitSeconds ?? 10 };
  const source = await openStoreSpec(from, opts);
  try {
    await source.catchUp();
    const dest = await openStoreSpec(to, opts);
    try {
      await dest.catchUp();
      if (!isEmpty(dest) && !o.force) {
        const n = dest.deployment.datasets.size;
        throw new UserError(`${describeStore(to)} already holds a configuration (${n} datasets); refusing to overwrite it without --force`);
      }
      const snapshot = { identity: source.identity, generation: source.generation, deployment: source.deployment };
      await dest.replaceAll(snapshot);
      return {
        datasets: snapshot.deployment.datasets.size,
        leases: snapshot.deployment.leases.size,
        generation: snapshot.generation,
      };
    } finally {
      await dest.close();
    }
  } finally {
    await source.close();
  }
}
