// Plain-data builders for planner tests.
import type { ClusterState, NodeState } from '../../src/model/cluster-state.js';
import type { Dataset, Deployment, Lease } from '../../src/model/configuration.js';
import { idMap } from '../../src/model/id-map.js';
import { asDatasetId, asNodeId, type DatasetId, type NodeId } from '../../src/model/ids.js';
import type { DiscoveredDataset, LocalState } from '../../src/converge/dataset-state.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Change } from '../../src/converge/changes.js';
import { plan, type PlanInput } from '../../src/converge/plan.js';
import type { Phase } from '../../src/model/cluster-state.js';

export const A: NodeId = asNodeId('1a2b3c4d-0000-4000-8000-00000000000a');
export const B: NodeId = asNodeId('5e6f7a8b-0000-4000-8000-00000000000b');
export const D1: DatasetId = asDatasetId('d1d1d1d1-0000-4000-8000-000000000001');
export const D2: DatasetId = asDatasetId('d2d2d2d2-0000-4000-8000-000000000002');
export const ROOT = '/flocker';
export const GiB = 1024 ** 3;
export const NOW = 1_700_000_000_000;

export function dataset(id: DatasetId, primary: NodeId, extra: Partial<Dataset> = {}): Dataset {
  return { datasetId: id, primary, deleted: false, maximumSize: 10 * GiB, metadata: {}, ...extra };
}

export function deployment(datasets: Dataset[], leases: Lease[] = []): Deployment {
  return {
    datasets: idMap(datasets.map((d) => [d.datasetId, d] as const)),
    leases: idMap(leases.map((l) => [l.datasetId, l] as const)),
  };
}

export function local(...found: DiscoveredDataset[]): LocalState {
  return { datasets: new Map(found.map((f) => [f.datasetId, f])), strayMounts: [] };
}

export const vol = (id: DatasetId) => `dir-${id}`;
export const dev = (id: DatasetId) => `/pool/volumes/dir-${id}/data`;
export const mp = (id: DatasetId) => `${ROOT}/${id}`;

export const found = {
  elsewhere: (id: DatasetId, to: string = B): DiscoveredDataset => ({ kind: 'attached-elsewhere', datasetId: id, volumeId: vol(id), size: 10 * GiB, attachedTo: to }),
  nonManifest: (id: DatasetId): DiscoveredDataset => ({ kind: 'non-manifest', datasetId: id, volumeId: vol(id), size: 10 * GiB }),
  noFs: (id: DatasetId): DiscoveredDataset => ({ kind: 'attached-no-filesystem', datasetId: id, volumeId: vol(id), size: 10 * GiB, device: dev(id) }),
  attached: (id: DatasetId): DiscoveredDataset => ({ kind: 'attached', datasetId: id, volumeId: vol(id), size: 10 * GiB, device: dev(id) }),
  mounted: (id: DatasetId): DiscoveredDataset => ({ kind: 'mounted', datasetId: id, volumeId: vol(id), size: 10 * GiB, device: dev(id), mountPoint: mp(id) }),
};

export function clusterWith(mounted: Record<string, DatasetId[]>): ClusterState {
  const nodes: Record<string, NodeState> = {};
  for (const [uuid, ids] of Object.entries(mounted)) {
    nodes[uuid] = {
      uuid: uuid as NodeId, host: '127.0.0.1', era: 'e', lastSeen: NOW, connected: true,
      report: { manifestations: ids.map((id) => ({ datasetId: id, path: mp(id), maximumSize: 10 * GiB })), nonManifest: [], progress: [] },
    };
  }
  return { nodes };
}

export function input(over: Partial<PlanInput> & Pick<PlanInput, 'configuration' | 'local'>): PlanInput {
  return { nodeId: A, cluster: { nodes: {} }, mountRoot: ROOT, now: NOW, allocationUnit: 1, needsFilesystem: false, volumeIdFor: vol, ...over };
}

/** One row of a planner table test: a situation, the change it must give, what it must say. */
export interface PlanRow {
  readonly name: string;
  readonly in: PlanInput;
  readonly change: Change;
  /** undefined = this node neither acts nor waits, so it reports nothing. */
  readonly phase?: Phase;
  readonly reason?: RegExp;
}

export function testRows(rows: readonly PlanRow[]): void {
  for (const row of rows) {
    test(row.name, () => {
      const p = plan(row.in);
      assert.equal(p.change, row.change);
      if (row.phase === undefined) {
        assert.equal(p.progress, []);
      } else {
        assert.is(p.progress.length, 1);
        assert.is(p.progress[0]!.datasetId, D1);
        assert.is(p.progress[0]!.phase, row.phase);
        if (row.reason) assert.match(p.progress[0]!.reason, row.reason);
      }
    });
  }
}
