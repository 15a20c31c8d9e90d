// PURE. What a node finds (discovered) and what it should make true (desired) for one dataset,
// as tagged unions: each state carries exactly the fields that exist in it (Flocker's DatasetStates).
import type { DatasetId, NodeId } from '../model/ids.js';
import type { HandedOffReport, ManifestReport, NonManifestReport, ReplicaReport } from '../model/cluster-state.js';

export type DiscoveredDataset =
  /** Nothing in the pool for this dataset (synthesised by the planner; never discovered). */
  | { readonly kind: 'non-existent'; readonly datasetId: DatasetId }
  /** The volume is attached to another node's instance; only that node may touch it. */
  | { readonly kind: 'attached-elsewhere'; readonly datasetId: DatasetId; readonly volumeId: string; readonly size: number; readonly attachedTo: string }
  /** The volume exists and is attached to nobody. */
  | { readonly kind: 'non-manifest'; readonly datasetId: DatasetId; readonly volumeId: string; readonly size: number }
  /** Attached here, but the backend needs a filesystem made first (loopback's first use). */
  | { readonly kind: 'attached-no-filesystem'; readonly datasetId: DatasetId; readonly volumeId: string; readonly size: number; readonly device: string }
  /** Attached here, usable, not exposed at its mount point. */
  | { readonly kind: 'attached'; readonly datasetId: DatasetId; readonly volumeId: string; readonly size: number; readonly device: string }
  /** Attached here and exposed at its mount point. */
  | { readonly kind: 'mounted'; readonly datasetId: DatasetId; readonly volumeId: string; readonly size: number; readonly device: string; readonly mountPoint: string }
  /** p2p: only a verified copy received from a peer (newest snapshot); nothing usable yet. */
  | { readonly kind: 'replica'; readonly datasetId: DatasetId; readonly snapshot: string }
  /** p2p: this node handed its copy off to `to`; it must never be used here again, only discarded. */
  | { readonly kind: 'handed-off'; readonly datasetId: DatasetId; readonly to: NodeId; readonly snapshot: string };

export type DiscoveredKind = DiscoveredDataset['kind'];
export const DISCOVERED_KINDS = [
  'non-existent', 'attached-elsewhere', 'non-manifest', 'attached-no-filesystem', 'attached', 'mounted', 'replica', 'handed-off',
] as const satisfies readonly DiscoveredKind[];

export type DesiredDataset =
  /** This node should expose it. `holdingLease` = kept here only because this node leases it. */
  | {
      readonly kind: 'mounted'; readonly datasetId: DatasetId; readonly size: number; readonly mountPoint: string;
      readonly holdingLease?: { readonly configuredPrimary: NodeId; readonly deleted: boolean };
    }
  /** Someone else should expose it (or nobody knows the dataset): let go of it, keep the data. */
  | { readonly kind: 'non-manifest'; readonly datasetId: DatasetId; readonly primary: NodeId | null }
  /** Marked deleted. Whoever holds it lets go; the configured primary destroys it once free. */
  | { readonly kind: 'deleted'; readonly datasetId: DatasetId; readonly destroyHere: boolean };

export type DesiredKind = DesiredDataset['kind'];
export const DESIRED_KINDS = ['mounted', 'non-manifest', 'deleted'] as const satisfies readonly DesiredKind[];

/** Everything a node discovered locally; the planner's only view of the machine. */
export interface LocalState {
  readonly datasets: ReadonlyMap<DatasetId, DiscoveredDataset>;
  /**
   * Exposures under mountRoot that no volume attached here accounts for (e.g. left by a crash
   * after the volume moved on). They would expose data this node no longer holds, so they go.
   */
  readonly strayMounts: readonly { readonly datasetId: DatasetId; readonly mountPoint: string }[];
}

/**
 * The part of local state other nodes and the control service may know: what is exposed here
 * (with its path), and volumes this node sees that are exposed nowhere. Volumes attached
 * elsewhere are their holder's to report.
 */
export interface SharedState {
  manifestations: ManifestReport[];
  nonManifest: NonManifestReport[];
  replicas?: ReplicaReport[];
  handedOff?: HandedOffReport[];
}

export function sharedState(local: LocalState): SharedState {
  const manifestations: ManifestReport[] = [];
  const nonManifest: NonManifestReport[] = [];
  const replicas: ReplicaReport[] = [];
  const handedOff: HandedOffReport[] = [];
  const all = [...local.datasets.values()].sort((a, b) => a.datasetId.localeCompare(b.datasetId));
  for (const d of all) {
    switch (d.kind) {
      case 'mounted':
        manifestations.push({ datasetId: d.datasetId, path: d.mountPoint, maximumSize: d.size > 0 ? d.size : null });
        break;
      case 'non-manifest':
      case 'attached':
      case 'attached-no-filesystem':
        nonManifest.push({ datasetId: d.datasetId, maximumSize: d.size > 0 ? d.size : null });
        break;
      case 'replica':
        replicas.push({ datasetId: d.datasetId, snapshot: d.snapshot });
        break;
      case 'handed-off':
        handedOff.push({ datasetId: d.datasetId, to: d.to, snapshot: d.snapshot });
        break;
      case 'attached-elsewhere':
      case 'non-existent':
        break;
      default:
        return unreachable(d);
    }
  }
  // Shared-pool backends never have these; their reports stay exactly as before.
  return {
    manifestations, nonManifest,
    ...(replicas.length > 0 ? { replicas } : {}),
    ...(handedOff.length > 0 ? { handedOff } : {}),
  };
}

export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
