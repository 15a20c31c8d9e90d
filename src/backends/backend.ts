// The one storage-driver interface (Flocker's IBlockDeviceAPI, plus the filesystem steps).
// Drivers never retry: the agent loop does. Every method is idempotent where it can be and
// recognises half-done states left by a crash (e.g. attached but not yet mounted).
import type { DatasetId } from '../model/ids.js';

/** agent.yml's `dataset.backend`: one name per implementation. */
export const BACKENDS = ['directory', 'loopback', 'p2p'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface Volume {
  /** Backend-specific identity (loopback: `block-<dataset_id>`). */
  readonly volumeId: string;
  readonly datasetId: DatasetId;
  /** Bytes, already rounded up to allocationUnit(). */
  readonly size: number;
  /** The computeInstanceId() of the node it is attached to, or null. */
  readonly attachedTo: string | null;
  /**
   * listVolumes only, for a volume attached here, when the listing already knows it: what
   * devicePath() would answer, so discovery need not ask again volume by volume.
   */
  readonly device?: string;
}

export interface StorageBackend {
  readonly name: BackendName;
  /** loopback: ext4 must be made on first use; directory: the volume is already usable. */
  readonly needsFilesystem: boolean;
  allocationUnit(): number;
  /** This node's identity for attachments (defaults to the node UUID). */
  computeInstanceId(): string;
  /** Every volume in the pool, whoever it is attached to. */
  listVolumes(): Promise<readonly Volume[]>;
  /** The volume createVolume makes for a dataset: named for it, so a plan can attach it in the same pass. */
  volumeIdFor(datasetId: DatasetId): string;
  /** Creates an unattached volume. Fails with 'already-exists' if the dataset has one. */
  createVolume(datasetId: DatasetId, size: number): Promise<Volume>;
  /** Must be unattached. */
  destroyVolume(volumeId: string): Promise<void>;
  /** Exclusive: fails with 'already-attached' if attached to another instance; no-op if to `to`. */
  attachVolume(volumeId: string, to: string): Promise<Volume>;
  detachVolume(volumeId: string): Promise<void>;
  /** The device (loopback) or directory (directory backend) of a volume attached here. */
  devicePath(volumeId: string): Promise<string>;
  hasFilesystem(device: string): Promise<boolean>;
  createFilesystem(device: string): Promise<void>;
  /** Expose `device` at `mountPoint` (mount, bind mount or symlink). Idempotent. */
  mount(device: string, mountPoint: string): Promise<void>;
  /** Idempotent: unmounting something not mounted succeeds. */
  unmount(mountPoint: string): Promise<void>;
  /** What is exposed directly under mountRoot: mount point -> device. */
  listMounts(mountRoot: string): Promise<ReadonlyMap<string, string>>;
}

export type BackendErrorCode = 'unknown-volume' | 'already-attached' | 'unattached' | 'already-exists' | 'pool-unusable';

export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(readonly code: BackendErrorCode, readonly volumeId: string, message: string) {
    super(message);
  }
}
