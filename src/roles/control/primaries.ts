// Every node some dataset is configured on (reachability watches them even before they speak),
// kept as a count per node from the ids each commit touched: asked every second, it costs the
// datasets changed since, not a walk of all of them.
import type { Deployment } from '../../model/configuration.js';
import type { NodeId } from '../../model/ids.js';
import type { ConfigurationStore } from '../../store/store.js';
import { TouchedSince } from '../../store/touched.js';

export class Primaries {
  private readonly touched: TouchedSince;
  private of?: Deployment['datasets'];
  private readonly count = new Map<NodeId, number>();

  constructor(private readonly store: ConfigurationStore) {
    this.touched = new TouchedSince(store);
  }

  /** The configured primaries, as of the store's configuration now. */
  current(): Iterable<NodeId> {
    const datasets = this.store.deployment.datasets;
    const touched = this.touched.take();
    if (this.of === undefined) {
      for (const d of datasets.values()) this.add(d.primary, 1);
    } else if (this.of !== datasets) {
      for (const id of touched.datasetIds) {
        const before = this.of.get(id)?.primary;
        const after = datasets.get(id)?.primary;
        if (before === after) continue;
        if (before !== undefined) this.add(before, -1);
        if (after !== undefined) this.add(after, 1);
      }
    }
    this.of = datasets;
    return this.count.keys();
  }

  private add(node: NodeId, n: number): void {
    const next = (this.count.get(node) ?? 0) + n;
    if (next > 0) this.count.set(node, next);
    else this.count.delete(node);
  }
}
