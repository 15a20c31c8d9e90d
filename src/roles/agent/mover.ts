// p2p: the agent's side of a move — the planner's pull, promote and discard steps carried out over
// the transfer layer and the node's own pool. Progress goes to the loop as it happens.
import type { StorageBackend } from '../../backends/backend.js';
import type { SnapshotPool } from '../../backends/p2p/pool-api.js';
import type { Action } from '../../converge/changes.js';
import type { DataMover } from '../../converge/execute.js';
import type { Logger } from '../../log.js';
import type { TransferProgress } from '../../model/cluster-state.js';
import type { DatasetId } from '../../model/ids.js';
import type { TlsMaterial } from '../../tls/options.js';
import { preCopy, pullDataset, type TransferPeer } from '../../transfer/client.js';

export interface MoverDeps {
  readonly pool: SnapshotPool;
  /** The same node's backend, to attach and mount a copy the moment it is taken over. */
  readonly backend: StorageBackend;
  readonly tls: TlsMaterial;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** undefined when the transfer has ended. */
  readonly onProgress: (datasetId: DatasetId, p: TransferProgress | undefined) => void;
}

export class PoolMover implements DataMover {
  constructor(private readonly d: MoverDeps) {}

  async pull(a: Extract<Action, { kind: 'pull' }>): Promise<void> {
    const peer: TransferPeer = { host: a.from.host, port: a.from.port, nodeUuid: a.from.nodeId };
    const common = {
      pool: this.d.pool, tls: this.d.tls, peer, datasetId: a.datasetId, signal: this.d.signal, log: this.d.log,
      onProgress: (p: TransferProgress) => this.d.onProgress(a.datasetId, p),
    };
    try {
      if (a.final) {
        const r = await pullDataset({ ...common, final: true });
        // The verified final copy becomes ours at once: until then the source keeps only a handed-off copy.
        await this.d.pool.promote(a.datasetId, r.snapshot);
        this.d.log.info({ dataset: a.datasetId, from: a.from.nodeId, bytes: r.bytesReceived }, 'took over the dataset');
        await this.expose(a.datasetId, a.mountPoint);
      } else {
        const r = await preCopy(common);
        const bytes = r.rounds.reduce((n, x) => n + x.bytesReceived, 0);
        this.d.log.info({ dataset: a.datasetId, from: a.from.nodeId, rounds: r.rounds.length, bytes }, 'pre-copied the dataset');
      }
    } finally {
      this.d.onProgress(a.datasetId, undefined);
    }
  }

  /**
   * Attach and mount right after the take-over, in the same step: the dataset is unavailable until
   * then. Were this to fail, the next pass finds the copy attached or free and finishes the job.
   */
  private async expose(datasetId: DatasetId, mountPoint: string): Promise<void> {
    const b = this.d.backend;
    const volume = (await b.listVolumes()).find((v) => v.datasetId === datasetId);
    if (!volume) throw new Error(`dataset ${datasetId} was taken over but its volume is not in the pool`);
    await b.attachVolume(volume.volumeId, b.computeInstanceId());
    await b.mount(await b.devicePath(volume.volumeId), mountPoint);
  }

  async promote(a: Extract<Action, { kind: 'promote' }>): Promise<void> {
    await this.d.pool.promote(a.datasetId, a.snapshot);
  }

  async discard(a: Extract<Action, { kind: 'discard' }>): Promise<void> {
    // The planner discards only copies that are not in use; check again here, at the last moment,
    // because the only good copy must never be the one removed.
    const held = (await this.d.pool.inventory()).get(a.datasetId);
    if (held?.live && held.handedOff === null) {
      throw new Error(`refusing to discard dataset ${a.datasetId}: this node holds its current copy`);
    }
    await this.d.pool.destroyAll(a.datasetId);
  }
}
