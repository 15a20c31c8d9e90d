// The ids a store's commits touched since a view last looked: what lets a view derived from the
// configuration (the agents' delta, /v1/convergence, the primaries) update only those entries
// instead of walking 100,000 datasets per change. Each view holds its own, so each takes the ids
// when it catches up, whenever that is. The store announces every change to `deployment`
// synchronously, so what is taken always matches what `deployment` holds at that moment.
import type { ChangedIds, ConfigurationStore } from './store.js';

export class TouchedSince {
  private datasetIds = new Set<string>();
  private leaseIds = new Set<string>();
  private readonly onChange = (c: ChangedIds): void => {
    for (const id of c.datasetIds) this.datasetIds.add(id);
    for (const id of c.leaseIds) this.leaseIds.add(id);
  };

  constructor(private readonly store: ConfigurationStore) {
    store.on('change', this.onChange);
  }

  /** What was touched since the last take (or since construction); starts afresh. */
  take(): Pick<ChangedIds, 'datasetIds' | 'leaseIds'> {
    const taken = { datasetIds: this.datasetIds, leaseIds: this.leaseIds };
    this.datasetIds = new Set();
    this.leaseIds = new Set();
    return taken;
  }

  close(): void {
    this.store.off('change', this.onChange);
  }
}
