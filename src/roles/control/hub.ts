// The control service's state, put together: the configuration (a ConfigurationStore, changed only
// through the ConfigWriter), what the agents said (NodeTable) and the serialised views of both.
// Observers (the event stream, the agent channel) get one coalesced 'change' per burst.
import { EventEmitter } from 'node:events';
import type { Deployment } from '../../model/configuration.js';
import type { ClusterState, NodeReport } from '../../model/cluster-state.js';
import type { Result } from '../../model/errors.js';
import type { NodeId } from '../../model/ids.js';
import type { ApiLease } from '../../protocol/api-json.js';
import type { ControlMessage } from '../../protocol/channel.js';
import { MemoryStore } from '../../store/memory.js';
import type { ConfigurationStore } from '../../store/store.js';
import { ConfigWriter, type WriteError } from './config-writer.js';
import { expireLeasesEdit, type Edit } from './edits.js';
import { NodeTable } from './node-table.js';
import type { Section } from './sections.js';
import { Views } from './views.js';

export type { Section } from './sections.js';

export interface HubOptions {
  readonly store?: ConfigurationStore;
  readonly now?: () => number;
  /** A node silent this long is forgotten (default 120 s, FLOCKER_NODE_TIMEOUT_MS). */
  readonly nodeTimeoutMs?: number;
}

export interface HubEvents {
  change: [sections: ReadonlySet<Section>, generation: number];
}

export class ControlHub extends EventEmitter<HubEvents> {
  readonly store: ConfigurationStore;
  readonly nodes: NodeTable;
  private readonly writer: ConfigWriter;
  private readonly views = new Views();
  private pending = new Set<Section>();
  private flushScheduled = false;
  /** Counts announcements; agents see it in every `cluster` message. */
  private generationValue = 0;
  /** Convergence recomputed for a request between a change and its announcement. */
  private convergenceUnannounced = false;
  readonly now: () => number;
  readonly nodeTimeoutMs: number;

  constructor(opts: HubOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.now = opts.now ?? Date.now;
    this.nodeTimeoutMs = opts.nodeTimeoutMs ?? 120_000;
    this.store = opts.store ?? new MemoryStore();
    this.writer = new ConfigWriter(this.store, this.now);
    this.nodes = new NodeTable(this.now, this.nodeTimeoutMs);
    this.store.on('change', (what) => {
      if (what.datasets) this.changed('configuration', 'convergence');
      if (what.leases) this.changed('configuration', 'leases');
    });
    this.nodes.on('change', (sections) => this.changed(...sections));
    this.views.recomputeConvergence(this.deployment, this.cluster, this.now());
  }

  /** The committed configuration. */
  get deployment(): Deployment {
    return this.store.deployment;
  }

  get cluster(): ClusterState {
    return this.nodes.cluster;
  }

  /** Apply `edit`, checking the X-If-Configuration-Matches tags in the same step; resolves once durable. */
  write<T>(edit: Edit<T>, ifMatch?: readonly string[]): Promise<Result<T, WriteError>> {
    return this.writer.write(edit, ifMatch);
  }

  /** Drop leases whose time is up (the original sweeps every second). */
  async sweepLeases(): Promise<void> {
    await this.writer.write(expireLeasesEdit);
  }

  /** Read-your-writes across replicas: resolves once every change committed before the call is visible here. */
  catchUp(): Promise<void> {
    return this.store.catchUp();
  }

  // ---- what agents say (the agent channel calls these) ----

  nodeByEra(era: string): NodeId | undefined {
    return this.nodes.nodeByEra(era);
  }

  agentHello(uuid: NodeId, era: string, host: string): void {
    this.nodes.hello(uuid, era, host);
  }

  agentReport(uuid: NodeId, report: NodeReport): void {
    this.nodes.report(uuid, report);
  }

  agentSeen(uuid: NodeId): void {
    this.nodes.seen(uuid);
  }

  agentDisconnected(uuid: NodeId): void {
    this.nodes.disconnected(uuid);
  }

  expireNodes(): NodeId[] {
    return this.nodes.expire();
  }

  // ---- serialised sections, cached until the next change ----

  /** X-Configuration-Tag of the committed configuration: O(1) from the store's identity and generation. */
  tag(): string {
    return this.writer.tag();
  }

  configurationJson(): string {
    return this.views.configuration.json(this.deployment.datasets);
  }

  stateJson(): string {
    return this.views.state.json(this.cluster);
  }

  nodesJson(): string {
    return this.views.nodes.json(this.cluster);
  }

  nodesLiveJson(): string {
    return this.views.nodesLive.json(this.cluster);
  }

  leases(): ApiLease[] {
    return this.views.leases(this.deployment, this.now());
  }

  convergenceJsonText(): string {
    // A request right after a change, before the coalesced flush, must already see it.
    if (this.pending.has('convergence') && this.views.recomputeConvergence(this.deployment, this.cluster, this.now())) {
      this.convergenceUnannounced = true;
    }
    return this.views.convergenceJson;
  }

  snapshotJson(): string {
    this.convergenceJsonText();
    return JSON.stringify({
      configuration: this.views.configuration.get(this.deployment.datasets),
      tag: this.tag(),
      state: this.views.state.get(this.cluster),
      nodes: this.views.nodesLive.get(this.cluster),
      leases: this.leases(),
      convergence: this.views.convergence,
    });
  }

  /** The JSON text of one event's data for `section`. */
  sectionJson(section: Section): string {
    switch (section) {
      case 'configuration': return JSON.stringify({ configuration: this.views.configuration.get(this.deployment.datasets), tag: this.tag() });
      case 'state': return this.stateJson();
      case 'nodes': return this.nodesLiveJson();
      case 'leases': return JSON.stringify(this.leases());
      case 'convergence': return this.convergenceJsonText();
    }
  }

  /** The `cluster` message for agents; the fan-out serialises it once per broadcast. */
  clusterMessage(): ControlMessage {
    return {
      type: 'cluster',
      generation: this.generationValue,
      configuration: this.deployment,
      cluster: this.cluster,
      store: { identity: this.store.identity, generation: this.store.generation },
      now: this.now(),
    };
  }

  clusterMessageJson(): string {
    return JSON.stringify(this.clusterMessage());
  }

  // ---- change notification ----

  private changed(...sections: Section[]): void {
    for (const s of sections) this.pending.add(s);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Coalesce a burst (e.g. 50 creates in one tick) into one announcement; never wait on a timer.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const sections = this.pending;
    this.pending = new Set();
    if (sections.has('convergence')) {
      const changed = this.views.recomputeConvergence(this.deployment, this.cluster, this.now()) || this.convergenceUnannounced;
      this.convergenceUnannounced = false;
      if (!changed) sections.delete('convergence');
    }
    if (sections.size === 0) return;
    this.generationValue += 1;
    this.emit('change', sections, this.generationValue);
  }
}
