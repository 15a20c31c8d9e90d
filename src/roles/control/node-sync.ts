// With several replicas, what each agent said is shared through the store: the replica an agent
// talks to writes its record (on that replica's etcd lease, so it outlives neither the agent's
// connection timeout nor the replica), every replica applies the others' records. A write that
// fails (etcd unreachable) is retried on the next tick, newest state only.
import { own } from '../../model/own.js';
import type { NodeState } from '../../model/cluster-state.js';
import type { NodeId } from '../../model/ids.js';
import type { Logger } from '../../log.js';
import type { EtcdStore } from '../../store/etcd.js';
import type { NodeTable } from './node-table.js';

export class NodeSync {
  /** uuid → newest state still to write (undefined: to delete), and whether it takes the record over. */
  private readonly unwritten = new Map<NodeId, { node: NodeState | undefined; takeOver: boolean }>();
  private inFlight = false;

  private readonly onLocal = (uuid: NodeId, node: NodeState | undefined, takeOver: boolean): void => {
    const prev = this.unwritten.get(uuid);
    this.unwritten.set(uuid, { node, takeOver: takeOver || (prev?.takeOver ?? false) });
    this.flush();
  };

  private readonly onShared = (uuid: NodeId, node: NodeState | undefined, ours: boolean): void => {
    if (ours) return;
    if (!node && this.table.serves(uuid)) {
      const mine = own(this.table.cluster.nodes, uuid);
      // Our record vanished (our etcd lease expired while etcd was away) but the agent is still here.
      if (mine?.connected) {
        this.onLocal(uuid, mine, true);
        return;
      }
    }
    this.table.applyRemote(uuid, node);
  };

  constructor(private readonly store: EtcdStore, private readonly table: NodeTable, private readonly log: Logger) {
    for (const [uuid, node] of store.nodes) table.applyRemote(uuid as NodeId, node);
    table.on('local', this.onLocal);
    store.nodeEvents.on('node', this.onShared);
  }

  /** Write what is unwritten; called on every local change and by the service's tick. */
  flush(): void {
    if (this.inFlight || this.unwritten.size === 0) return;
    this.inFlight = true;
    const batch = [...this.unwritten];
    this.unwritten.clear();
    let failed = false;
    void Promise.all(batch.map(async ([uuid, w]) => {
      try {
        if (w.node) await this.store.putNode(w.node, w.takeOver);
        else await this.store.deleteNode(uuid);
      } catch (e) {
        // Keep it unless a newer state replaced it meanwhile.
        failed = true;
        if (!this.unwritten.has(uuid)) this.unwritten.set(uuid, w);
        this.log.warn({ node: uuid, err: (e as Error).message }, 'could not share node state; will retry');
      }
    })).finally(() => {
      this.inFlight = false;
      // Changes that came in meanwhile go now; after a failure, the next tick retries.
      if (!failed) this.flush();
    });
  }

  close(): void {
    this.table.off('local', this.onLocal);
    this.store.nodeEvents.off('node', this.onShared);
  }
}
