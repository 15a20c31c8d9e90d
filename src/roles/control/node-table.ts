// What the agents said: one NodeState per node, the era → node index, and forgetting nodes that
// fell silent. In memory; with etcd, node-sync.ts shares it between replicas.
import { EventEmitter } from 'node:events';
import { EMPTY_CLUSTER, type ClusterState, type NodeReport, type NodeState } from '../../model/cluster-state.js';
import type { NodeId } from '../../model/ids.js';
import type { Section } from './sections.js';

export interface NodeTableEvents {
  change: [sections: readonly Section[]];
  /** A node's state as this replica now holds it (undefined: forgotten), for sharing. */
  local: [uuid: NodeId, node: NodeState | undefined];
}

export class NodeTable extends EventEmitter<NodeTableEvents> {
  private value: ClusterState = EMPTY_CLUSTER;
  /** era → node. Never expires; a node's new era replaces its old one. */
  private readonly eras = new Map<string, NodeId>();

  constructor(private readonly now: () => number, readonly timeoutMs: number) {
    super();
    this.setMaxListeners(0);
  }

  get cluster(): ClusterState {
    return this.value;
  }

  nodeByEra(era: string): NodeId | undefined {
    return this.eras.get(era);
  }

  hello(uuid: NodeId, era: string, host: string, transferPort?: number): void {
    const old = this.value.nodes[uuid];
    // A new era is a reboot: what the node said before describes a machine that no longer exists.
    const report = old && old.era === era ? old.report : null;
    this.setLocal({ uuid, host, era, lastSeen: this.now(), connected: true, report, ...(transferPort !== undefined ? { transferPort } : {}) });
    this.emit('change', ['nodes', 'convergence', ...(old?.report && !report ? (['state'] as const) : [])]);
  }

  report(uuid: NodeId, report: NodeReport): void {
    const node = this.value.nodes[uuid];
    if (!node) return;
    this.setLocal({ ...node, lastSeen: this.now(), report });
    this.emit('change', ['state', 'nodes', 'convergence']);
  }

  /** Any sign of life (a message, a pong): keeps the node from timing out; announces nothing. */
  seen(uuid: NodeId): void {
    const node = this.value.nodes[uuid];
    if (!node) return;
    this.put({ ...node, lastSeen: this.now() });
  }

  disconnected(uuid: NodeId): void {
    const node = this.value.nodes[uuid];
    if (!node || !node.connected) return;
    this.setLocal({ ...node, connected: false });
    this.emit('change', ['nodes', 'convergence']);
  }

  /** Forget nodes silent for longer than the timeout. Returns the forgotten ones. */
  expire(): NodeId[] {
    const cutoff = this.now() - this.timeoutMs;
    const gone = Object.values(this.value.nodes).filter((n) => n.lastSeen < cutoff).map((n) => n.uuid);
    if (gone.length === 0) return gone;
    const nodes = { ...this.value.nodes };
    for (const g of gone) delete nodes[g];
    this.value = { nodes };
    for (const g of gone) this.emit('local', g, undefined);
    this.emit('change', ['nodes', 'state', 'convergence']);
    return gone;
  }

  /** A node as another replica reports it (undefined: gone there). Announces the change. */
  applyRemote(uuid: NodeId, node: NodeState | undefined): void {
    const old = this.value.nodes[uuid];
    if (node) {
      this.put(node);
    } else if (old) {
      const { [uuid]: _gone, ...nodes } = this.value.nodes;
      this.value = { nodes };
    } else {
      return;
    }
    this.emit('change', ['state', 'nodes', 'convergence']);
  }

  private setLocal(node: NodeState): void {
    this.put(node);
    this.emit('local', node.uuid, node);
  }

  private put(node: NodeState): void {
    const old = this.value.nodes[node.uuid];
    if (old?.era !== node.era) {
      if (old && this.eras.get(old.era) === node.uuid) this.eras.delete(old.era);
      this.eras.set(node.era, node.uuid);
    }
    this.value = { nodes: { ...this.value.nodes, [node.uuid]: node } };
  }
}
