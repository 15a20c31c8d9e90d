// PURE. plan(input) → the change that moves this node one step closer to the configuration,
// plus what it is doing or waiting for, per dataset. Runs on fresh and on cached local state alike.
import type { ClusterState } from '../model/cluster-state.js';
import type { Deployment } from '../model/configuration.js';
import type { DatasetId, NodeId } from '../model/ids.js';
import { IDLE_MS, parallel, sequence, type Change } from './changes.js';
import type { DesiredDataset, DiscoveredDataset, LocalState } from './dataset-state.js';
import { desiredFor } from './desired.js';
import { step, type PlannedProgress, type StepContext } from './transitions.js';

export interface PlanInput {
  readonly nodeId: NodeId;
  readonly configuration: Deployment;
  readonly cluster: ClusterState;
  readonly local: LocalState;
  readonly mountRoot: string;
  /** Epoch ms by the control service's clock. */
  readonly now: number;
  readonly allocationUnit: number;
  readonly needsFilesystem: boolean;
  /** p2p backend: pools are private and moves copy data from node to node. */
  readonly peerToPeer?: boolean;
  /** The volume the backend's createVolume makes for a dataset. */
  readonly volumeIdFor: (datasetId: DatasetId) => string;
}

export interface Plan {
  readonly change: Change;
  /** Sorted by dataset id. */
  readonly progress: readonly PlannedProgress[];
}

export function plan(input: PlanInput): Plan {
  const desired = desiredFor(input);
  const ctx: StepContext = {
    nodeId: input.nodeId, configuration: input.configuration, cluster: input.cluster,
    now: input.now, needsFilesystem: input.needsFilesystem, peerToPeer: input.peerToPeer === true, volumeIdFor: input.volumeIdFor,
  };
  const strays = new Map<DatasetId, Change[]>();
  for (const s of input.local.strayMounts) {
    const list = strays.get(s.datasetId) ?? [];
    list.push({ kind: 'unmount', datasetId: s.datasetId, mountPoint: s.mountPoint });
    strays.set(s.datasetId, list);
  }
  const ids = [...new Set<DatasetId>([...desired.keys(), ...input.local.datasets.keys(), ...strays.keys()])].sort();
  const changes: Change[] = [];
  const progress: PlannedProgress[] = [];
  for (const id of ids) {
    const found: DiscoveredDataset = input.local.datasets.get(id) ?? { kind: 'non-existent', datasetId: id };
    const want: DesiredDataset = desired.get(id) ?? { kind: 'non-manifest', datasetId: id, primary: null };
    const s = step(want, found, ctx);
    // A stray exposure goes before anything else happens to the dataset here.
    changes.push(sequence([...(strays.get(id) ?? []), s.change]));
    if (s.progress) progress.push(s.progress);
  }
  return { change: parallel(changes, IDLE_MS), progress };
}
