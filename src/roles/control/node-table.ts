// What the agents said: one NodeState per node, the era → node index, and forgetting nodes that
// fell silent. In memory; with etcd, node-sync.ts shares it between replicas.
import { own } from '../../model/own.js';
import { EventEmitter } from 'node:events';
import { EMPTY_CLUSTER, type ClusterState, type NodeReport, type NodeState } from '../../model/cluster-state.js';
import type { NodeId } from '../../model/ids.js';
import type { Section } from './sections.js';

export interface NodeTableEvents {
  change: [sections: readonly Section[]];
  /**
   * A node this replica serves changed (undefined: forgotten), for sharing with other replicas.
   * `takeOver`: the agent (re)connected here, so this replica now owns the node's record.
   */
  local: [uuid: NodeId, node: NodeState | undefined, takeOver: boolean];
}

export class NodeTable extends EventEmitter<NodeTableEvents> {
  private value: ClusterState = EMPTY_CLUSTER;
  /**
   * Changes since `cluster` was last read, in a private copy. Readers get immutable snapshots,
   * but copying the node map for every message made 5,000 agents joining (hello, report, pongs)
   * cost 5,000² copies; now a burst of messages between two reads costs one.
   */
  private draft: Record<string, NodeState> | undefined;
  /** era → node. Never expires; a node's new era replaces its old one. */
  private readonly eras = new Map<string, NodeId>();
  /** Nodes whose agent talks (or last talked) to this replica; only these expire here. */
  private readonly served = new Set<string>();

  constructor(private readonly now: () => number, readonly timeoutMs: number) {
    super();
    this.setMaxListeners(0);
  }

  get cluster(): ClusterState {
    if (this.draft) {
      this.value = { nodes: this.draft };
      this.draft = undefined;
    }
    return this.value;
  }

  private get nodes(): Readonly<Record<string, NodeState>> {
    return this.draft ?? this.value.nodes;
  }

  private writable(): Record<string, NodeState> {
    return (this.draft ??= { ...this.value.nodes });
  }

  nodeByEra(era: string): NodeId | undefined {
    return this.eras.get(era);
  }

  hello(uuid: NodeId, era: string, host: string, transferPort?: number, name?: string): void {
    const old = own(this.nodes, uuid);
    // A new era is a reboot: what the node said before describes a machine that no longer exists.
    const report = old && old.era === era ? old.report : null;
    this.setLocal({
      uuid, host, era, ...(name !== undefined ? { name } : {}), lastSeen: this.now(), connected: true, report,
      ...(transferPort !== undefined ? { transferPort } : {}),
    }, true);
    this.emit('change', ['nodes', 'convergence', ...(old?.report && !report ? (['state'] as const) : [])]);
  }

  report(uuid: NodeId, report: NodeReport): void {
    const node = own(this.nodes, uuid);
    if (!node) return;
    this.setLocal({ ...node, lastSeen: this.now(), report }, false);
    this.emit('change', ['state', 'nodes', 'convergence']);
  }

  /** Any sign of life (a message, a pong): keeps the node from timing out; announces nothing. */
  seen(uuid: NodeId): void {
    const node = own(this.nodes, uuid);
    if (!node) return;
    this.put({ ...node, lastSeen: this.now() });
  }

  disconnected(uuid: NodeId): void {
    const node = own(this.nodes, uuid);
    if (!node || !node.connected) return;
    this.setLocal({ ...node, connected: false }, false);
    this.emit('change', ['nodes', 'convergence']);
  }

  /** Forget nodes silent for longer than the timeout. Returns the forgotten ones. */
  expire(): NodeId[] {
    const cutoff = this.now() - this.timeoutMs;
    const gone = Object.values(this.nodes).filter((n) => this.served.has(n.uuid) && n.lastSeen < cutoff).map((n) => n.uuid);
    if (gone.length === 0) return gone;
    const nodes = this.writable();
    for (const g of gone) {
      delete nodes[g];
      this.served.delete(g);
    }
    for (const g of gone) this.emit('local', g, undefined, false);
    this.emit('change', ['nodes', 'state', 'convergence']);
    return gone;
  }

  /** Whether this replica serves `uuid` (its agent is or was last connected here). */
  serves(uuid: NodeId): boolean {
    return this.served.has(uuid);
  }

  /**
   * A node as another replica reports it (undefined: its record is gone): that replica serves
   * it now. Announces the change.
   */
  applyRemote(uuid: NodeId, node: NodeState | undefined): void {
    const old = own(this.nodes, uuid);
    if (node) {
      this.served.delete(uuid);
      this.put(node);
    } else if (old) {
      this.served.delete(uuid);
      delete this.writable()[uuid];
    } else {
      return;
    }
    this.emit('change', ['state', 'nodes', 'convergence']);
  }

  private setLocal(node: NodeState, takeOver: boolean): void {
    this.served.add(node.uuid);
    this.put(node);
    this.emit('local', node.uuid, node, takeOver);
  }

  private put(node: NodeState): void {
    const old = own(this.nodes, node.uuid);
    if (old?.era !== node.era) {
      if (old && this.eras.get(old.era) === node.uuid) this.eras.delete(old.era);
      this.eras.set(node.era, node.uuid);
    }
    this.writable()[node.uuid] = node;
  }
}
