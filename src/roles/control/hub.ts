// The control service's one source of truth: the persisted Deployment and the in-memory
// ClusterState. Every mutation goes through here; observers (the REST API's event stream, the
// agent channel) get one coalesced 'change' per burst, and each section is serialised once per
// change, not once per request.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Deployment } from '../../model/configuration.js';
import { EMPTY_DEPLOYMENT } from '../../model/configuration.js';
import { EMPTY_CLUSTER, stateDatasets, type ClusterState, type NodeReport, type NodeState } from '../../model/cluster-state.js';
import { convergenceRows, stampSince, type PhaseMemo } from '../../model/convergence.js';
import { expireLeases } from '../../model/deployment.js';
import { own } from '../../model/own.js';
import type { NodeId } from '../../model/ids.js';
import { convergenceToApi, datasetToApi, leaseToApi, stateToApi, type ApiLease, type ApiNode, type ApiNodeLive } from '../../protocol/api-json.js';
import type { ClusterEventType } from '../../protocol/events.js';
import type { ConfigurationStore } from '../../store/store.js';

/** Each is also the name of the event carrying it on GET /v1/events. */
export type Section = Exclude<ClusterEventType, 'snapshot'>;

export interface HubOptions {
  readonly store?: ConfigurationStore;
  readonly now?: () => number;
  /** A node silent this long is forgotten (default 120 s, FLOCKER_NODE_TIMEOUT_MS). */
  readonly nodeTimeoutMs?: number;
}

export interface HubEvents {
  change: [sections: ReadonlySet<Section>, generation: number];
}

function sortedValues<T>(record: Readonly<Record<string, T>>): T[] {
  return Object.keys(record).sort().map((k) => record[k] as T);
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

export class ControlHub extends EventEmitter<HubEvents> {
  /** What requests build on: committed changes plus those waiting for the next group commit. */
  private working: Deployment;
  /** What is on disk; every view (GET, events, agent pushes) shows only this. */
  private committedValue: Deployment;
  private waiters: Waiter[] = [];
  private persistScheduled = false;
  private clusterValue: ClusterState = EMPTY_CLUSTER;
  /** era → node. Never expires; a node's new era replaces its old one. */
  private readonly eras = new Map<string, NodeId>();
  private pending = new Set<Section>();
  private flushScheduled = false;
  private generationValue = 0;
  private phaseMemo: ReadonlyMap<string, PhaseMemo> = new Map();
  private readonly cache: Partial<Record<'state' | 'nodes' | 'nodesLive', string>> = {};
  private readonly configJsonOf = new WeakMap<Deployment, string>();
  private readonly tagOf = new WeakMap<Deployment, string>();
  private convergenceJson = '[]';
  private convergenceAnnounced = '[]';
  readonly now: () => number;
  readonly nodeTimeoutMs: number;

  constructor(private readonly opts: HubOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.now = opts.now ?? Date.now;
    this.nodeTimeoutMs = opts.nodeTimeoutMs ?? 120_000;
    this.working = opts.store ? opts.store.load() : EMPTY_DEPLOYMENT;
    this.committedValue = this.working;
    this.recomputeConvergence();
    this.convergenceAnnounced = this.convergenceJson;
  }

  /** The configuration new changes apply to (includes changes not yet committed). */
  get deployment(): Deployment {
    return this.working;
  }

  get cluster(): ClusterState {
    return this.clusterValue;
  }

  /** What is on disk: what agents are told. */
  get committed(): Deployment {
    return this.committedValue;
  }

  /** The number of the latest announced change. */
  get generation(): number {
    return this.generationValue;
  }

  /**
   * Make `next` the configuration. Resolves once it is committed to disk, so the API can then
   * answer. Changes arriving in the same turn of the event loop share one transaction (group
   * commit): one fsync for a burst of concurrent requests instead of one each.
   */
  commit(next: Deployment): Promise<void> {
    if (next === this.working && next === this.committedValue) return Promise.resolve();
    this.working = next;
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.persistScheduled) return;
      this.persistScheduled = true;
      setImmediate(() => this.persist());
    });
  }

  private persist(): void {
    this.persistScheduled = false;
    const target = this.working;
    const waiters = this.waiters;
    this.waiters = [];
    const prev = this.committedValue;
    if (target !== prev) {
      try {
        this.opts.store?.save(target);
      } catch (e) {
        // Nothing of this batch is on disk: forget it, so later requests don't build on it.
        this.working = prev;
        for (const w of waiters) w.reject(e);
        return;
      }
      this.committedValue = target;
      if (target.datasets !== prev.datasets) this.changed('configuration', 'convergence');
      if (target.leases !== prev.leases) this.changed('configuration', 'leases');
    }
    for (const w of waiters) w.resolve();
  }

  /** Drop leases whose time is up (the original sweeps every second). */
  sweepLeases(): Promise<void> {
    return this.commit(expireLeases(this.working, this.now()));
  }

  // ---- cluster state (from the agent channel) ----

  nodeByEra(era: string): NodeId | undefined {
    return this.eras.get(era);
  }

  agentHello(uuid: NodeId, era: string, host: string, transferPort?: number): void {
    const now = this.now();
    const old = own(this.clusterValue.nodes, uuid);
    for (const [e, n] of this.eras) if (n === uuid && e !== era) this.eras.delete(e);
    this.eras.set(era, uuid);
    // A new era is a reboot: what the node said before describes a machine that no longer exists.
    const report = old && old.era === era ? old.report : null;
    this.setNode({ uuid, host, era, lastSeen: now, connected: true, report, ...(transferPort !== undefined ? { transferPort } : {}) });
    this.changed('nodes', 'convergence', ...(old?.report && !report ? (['state'] as const) : []));
  }

  agentReport(uuid: NodeId, report: NodeReport): void {
    const node = own(this.clusterValue.nodes, uuid);
    if (!node) return;
    this.setNode({ ...node, lastSeen: this.now(), report });
    this.changed('state', 'nodes', 'convergence');
  }

  /** Any sign of life (a message, a pong): keeps the node from timing out; announces nothing. */
  agentSeen(uuid: NodeId): void {
    const node = own(this.clusterValue.nodes, uuid);
    if (!node) return;
    this.clusterValue = { nodes: { ...this.clusterValue.nodes, [uuid]: { ...node, lastSeen: this.now() } } };
  }

  agentDisconnected(uuid: NodeId): void {
    const node = own(this.clusterValue.nodes, uuid);
    if (!node || !node.connected) return;
    this.setNode({ ...node, connected: false });
    this.changed('nodes', 'convergence');
  }

  /** Forget nodes silent for longer than the timeout. Returns the forgotten ones. */
  expireNodes(): NodeId[] {
    const cutoff = this.now() - this.nodeTimeoutMs;
    const gone = Object.values(this.clusterValue.nodes).filter((n) => n.lastSeen < cutoff).map((n) => n.uuid);
    if (gone.length === 0) return gone;
    const nodes = { ...this.clusterValue.nodes };
    for (const g of gone) delete nodes[g];
    this.clusterValue = { nodes };
    this.invalidateCluster();
    this.changed('nodes', 'state', 'convergence');
    return gone;
  }

  private setNode(node: NodeState): void {
    this.clusterValue = { nodes: { ...this.clusterValue.nodes, [node.uuid]: node } };
    this.invalidateCluster();
  }

  private invalidateCluster(): void {
    delete this.cache.state;
    delete this.cache.nodes;
    delete this.cache.nodesLive;
  }

  // ---- serialised sections, cached until the next change ----

  configurationJson(d: Deployment = this.committedValue): string {
    let json = this.configJsonOf.get(d);
    if (json === undefined) {
      json = JSON.stringify(sortedValues(d.datasets).map(datasetToApi));
      this.configJsonOf.set(d, json);
    }
    return json;
  }

  /**
   * X-Configuration-Tag: a hash of a whole configuration (datasets and leases). Conditional
   * requests compare against the working configuration's tag, so two requests holding the same
   * tag can't both pass while the first waits for its commit.
   */
  tag(d: Deployment = this.committedValue): string {
    let tag = this.tagOf.get(d);
    if (tag === undefined) {
      tag = createHash('md5').update(this.configurationJson(d)).update(JSON.stringify(sortedValues(d.leases))).digest('hex');
      this.tagOf.set(d, tag);
    }
    return tag;
  }

  stateJson(): string {
    return (this.cache.state ??= JSON.stringify(stateDatasets(this.clusterValue).map(stateToApi)));
  }

  /** /v1/state/nodes: nodes that have reported state. */
  nodesJson(): string {
    return (this.cache.nodes ??= JSON.stringify(sortedValues(this.clusterValue.nodes)
      .filter((n) => n.report !== null)
      .map((n): ApiNode => ({ uuid: n.uuid, host: n.host }))));
  }

  nodesLiveJson(): string {
    return (this.cache.nodesLive ??= JSON.stringify(sortedValues(this.clusterValue.nodes).map((n): ApiNodeLive => ({
      uuid: n.uuid, host: n.host, era: n.era, connected: n.connected, last_seen: new Date(n.lastSeen).toISOString(),
    }))));
  }

  /** Leases carry seconds remaining, so they are computed per response. */
  leases(): ApiLease[] {
    const now = this.now();
    return sortedValues(this.committedValue.leases).map((l) => leaseToApi(l, now));
  }

  convergenceJsonText(): string {
    // A request right after a change, before the coalesced flush, must already see it.
    if (this.pending.has('convergence')) this.recomputeConvergence();
    return this.convergenceJson;
  }

  snapshotJson(): string {
    return `{"configuration":${this.configurationJson()},"tag":${JSON.stringify(this.tag())},"state":${this.stateJson()},`
      + `"nodes":${this.nodesLiveJson()},"leases":${JSON.stringify(this.leases())},"convergence":${this.convergenceJsonText()}}`;
  }

  /** The JSON text of one event's data for `section`. */
  sectionJson(section: Section): string {
    switch (section) {
      case 'configuration': return `{"configuration":${this.configurationJson()},"tag":${JSON.stringify(this.tag())}}`;
      case 'state': return this.stateJson();
      case 'nodes': return this.nodesLiveJson();
      case 'leases': return JSON.stringify(this.leases());
      case 'convergence': return this.convergenceJsonText();
    }
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
      this.recomputeConvergence();
      if (this.convergenceJson === this.convergenceAnnounced) sections.delete('convergence');
      this.convergenceAnnounced = this.convergenceJson;
    }
    if (sections.size === 0) return;
    this.generationValue += 1;
    this.emit('change', sections, this.generationValue);
  }

  private recomputeConvergence(): void {
    const { rows, memo } = stampSince(convergenceRows(this.committedValue, this.clusterValue), this.phaseMemo, this.now());
    this.phaseMemo = memo;
    this.convergenceJson = JSON.stringify(rows.map(convergenceToApi));
  }
}
