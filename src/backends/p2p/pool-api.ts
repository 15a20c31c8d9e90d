// What the p2p transfer layer and the agent may ask of a node's btrfs pool (P2P-DESIGN.md).
// Kept apart from pool.ts so the transfer layer can be written against it before the pool exists.
import type { DatasetId } from '../../model/ids.js';

/** The live copy here was handed off to node `to` at `snapshot` (its last state here). */
export interface HandOff {
  readonly to: string;
  readonly snapshot: string;
}

export interface DatasetHoldings {
  /** The node has the writable owner copy (P/live/<id>). */
  readonly live: boolean;
  /** The live copy was handed off; it must never be mounted again. */
  readonly handedOff: HandOff | null;
  /** Received snapshots (recv/), oldest first. */
  readonly received: readonly string[];
  /** This node's own snapshots (snap/), oldest first. */
  readonly local: readonly string[];
}

export interface SnapshotPool {
  /** Read-only snapshot of the live copy now; returns its name. Works while mounted (crash-consistent pre-copy). */
  snapshot(datasetId: DatasetId): Promise<string>;
  /** Names of this node's snapshots (snap/) and received snapshots (recv/) of the dataset, oldest first. */
  snapshots(datasetId: DatasetId): Promise<{ readonly local: readonly string[]; readonly received: readonly string[] }>;
  /** `btrfs send [-p parent] <snapshot>` written to `out` (a file path). parent/snapshot may be in snap/ or recv/. */
  sendToFile(datasetId: DatasetId, snapshot: string, parent: string | null, out: string, signal?: AbortSignal): Promise<void>;
  /** `btrfs receive` a complete, verified stream file into recv/<id>/; returns the received snapshot's name. */
  receiveFile(datasetId: DatasetId, file: string): Promise<string>;
  /** Turn received snapshot <name> into the writable live copy (the node becomes owner); removes the handed-off marker and older received snapshots. */
  promote(datasetId: DatasetId, snapshot: string): Promise<void>;
  /** Live copy is loop-attached or mounted here (a final snapshot must not be taken then). */
  isExposed(datasetId: DatasetId): Promise<boolean>;
  /** Persist "handed off to `to` at `snapshot`": from then on the live copy is not listed as a volume and never mounted. */
  markHandedOff(datasetId: DatasetId, to: string, snapshot: string): Promise<void>;
  handedOff(datasetId: DatasetId): Promise<HandOff | null>;
  /** Every dataset this node has anything of, with what it has. */
  inventory(): Promise<ReadonlyMap<DatasetId, DatasetHoldings>>;
  deleteSnapshot(datasetId: DatasetId, name: string): Promise<void>;
  /** Remove everything the node holds of the dataset (live, snapshots, received, marker, spool). */
  destroyAll(datasetId: DatasetId): Promise<void>;
  /** Bytes allocated by the live image (what a full send roughly moves). */
  allocatedBytes(datasetId: DatasetId): Promise<number>;
  /** Bytes still free for new data in the pool (btrfs free estimate, and the filesystem under a pool file). */
  freeBytes(): Promise<number>;
  /**
   * Directory for transfer spool files inside the pool; it exists once the pool is open (after any
   * awaited call). Name a dataset's spool files `<dataset_id>...` (a file or a folder): destroyAll
   * removes exactly those.
   */
  readonly spoolDir: string;
}
