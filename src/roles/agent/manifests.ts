// IMPURE. Keeps each dataset's manifest in its pool in step with the configuration (written by the
// node that holds the dataset, whenever what the configuration says of it differs), and adds the
// manifests of what this node holds or sees free to its report, for `flocker adopt`.
import type { DatasetManifest, ManifestStore } from '../../backends/manifests.js';
import type { DiscoveredDataset, LocalState } from '../../converge/dataset-state.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { DatasetManifestReport, NodeReport } from '../../model/cluster-state.js';
import type { Deployment } from '../../model/configuration.js';
import type { DatasetId, NodeId } from '../../model/ids.js';

const same = (a: DatasetManifest, b: DatasetManifest): boolean =>
  a.maximumSize === b.maximumSize && JSON.stringify(a.metadata) === JSON.stringify(b.metadata);

/**
 * What this node may say of a dataset for adopt. A private pool's (p2p) volumes are all held
 * here; a shared pool's unattached volume is only seen free. A p2p copy handed off to another node
 * or a replica received from one is not the dataset: its owner reports it.
 */
function standing(d: DiscoveredDataset, privatePool: boolean): 'held' | 'free' | undefined {
  switch (d.kind) {
    case 'attached-elsewhere': case 'non-existent': case 'replica': case 'handed-off': return undefined;
    case 'non-manifest': return privatePool ? 'held' : 'free';
    case 'attached': case 'attached-no-filesystem': case 'mounted': return 'held';
  }
}

export class ManifestKeeper {
  /** Last read or written, per dataset. */
  private readonly known = new Map<DatasetId, DatasetManifest>();
  private visible: DatasetManifestReport[] = [];

  constructor(
    private readonly store: ManifestStore, private readonly nodeId: NodeId, private readonly log: Logger,
    /** The pool is this node's own (p2p): nobody else sees its volumes. */
    private readonly privatePool = false,
  ) {}

  /** After each discovery: write what changed for datasets held here, and note what is visible. */
  async refresh(local: LocalState, configuration: Deployment | undefined): Promise<void> {
    const visible: DatasetManifestReport[] = [];
    const seen = new Set<DatasetId>();
    for (const d of local.datasets.values()) {
      const s = standing(d, this.privatePool);
      if (s === undefined) continue;
      seen.add(d.datasetId);
      const held = s === 'held';
      let m = await this.read(d.datasetId);
      const row = configuration?.datasets.get(d.datasetId);
      // Only the holder writes, and only what a configuration that names it the primary says.
      if (held && row && !row.deleted && row.primary === this.nodeId) {
        const want: DatasetManifest = { datasetId: row.datasetId, maximumSize: row.maximumSize, metadata: row.metadata };
        if (!m || !same(m, want)) {
          try {
            await this.store.write(want);
            this.known.set(d.datasetId, want);
            m = want;
          } catch (e) {
            this.log.warn({ dataset: d.datasetId, err: errorMessage(e) }, 'could not write the dataset manifest; will retry');
          }
        }
      }
      if (m) visible.push({ datasetId: m.datasetId, maximumSize: m.maximumSize, metadata: m.metadata, held });
    }
    this.visible = visible.sort((a, b) => a.datasetId.localeCompare(b.datasetId));
    // Forget what is no longer here: a dataset that comes back (p2p: moved back) brings the
    // manifest its last holder wrote, which must be read again.
    for (const id of this.known.keys()) if (!seen.has(id)) this.known.delete(id);
  }

  /** The report with the manifests of what this node holds or sees free. */
  decorate(report: NodeReport): NodeReport {
    return this.visible.length === 0 ? report : { ...report, manifests: this.visible };
  }

  private async read(id: DatasetId): Promise<DatasetManifest | undefined> {
    const cached = this.known.get(id);
    if (cached) return cached;
    try {
      // Absence is not remembered: a free volume's holder may write its manifest any time.
      const m = await this.store.read(id);
      if (m) this.known.set(id, m);
      return m;
    } catch (e) {
      this.log.warn({ dataset: id, err: errorMessage(e) }, 'could not read the dataset manifest');
      return undefined;
    }
  }
}
