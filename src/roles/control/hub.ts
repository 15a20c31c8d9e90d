// The control service's state, put together: the configuration (a ConfigurationStore, changed only
// through the ConfigWriter), what the agents said (NodeTable) and the serialised views of both.
// Observers (the event stream, the agent channel) get one coalesced 'change' per burst.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Deployment } from '../../model/configuration.js';
import type { ClusterState, NodeReport } from '../../model/cluster-state.js';
import type { Result } from '../../model/errors.js';
import type { NodeId } from '../../model/ids.js';
import type { ApiLease, ApiManifest } from '../../protocol/api-json.js';
import { byId, type Reachability } from '../../model/convergence.js';
import { MemoryStore } from '../../store/memory.js';
import type { ConfigurationStore } from '../../store/store.js';
import { ConfigWriter, type WriteError } from './config-writer.js';
import { EventDeltas } from './event-deltas.js';
import { EventReplay, type Announcement } from './event-replay.js';
import { EventPace, eventPaceMs } from './event-pace.js';
import { expireLeasesEdit, type Edit } from './edits.js';
import { NodeTable } from './node-table.js';
import { Primaries } from './primaries.js';
import type { Section } from './sections.js';
import { Views } from './views.js';

export type { Section } from './sections.js';

/** How long the event stream's announcements are kept for resuming after its last reader left. */
export const RESUME_WINDOW_MS = 120_000;
/** At most this many announcements, and this much JSON, are kept for resuming. */
const RESUME_MAX_ANNOUNCEMENTS = 4096;
const RESUME_MAX_BYTES = 32 * 1024 * 1024;

/** How a GET /v1/events reader starts: a snapshot, or the announcements it missed. */
export type EventsStart =
  | { readonly kind: 'snapshot'; readonly json: string; readonly id: string }
  | { readonly kind: 'resumed'; readonly missed: readonly Announcement[] };

export interface HubOptions {
  readonly store?: ConfigurationStore;
  readonly now?: () => number;
  /** A node silent this long is forgotten (default 120 s, FLOCKER_NODE_TIMEOUT_MS). */
  readonly nodeTimeoutMs?: number;
  /** Told how long each store commit took (flocker_control_store_write_duration_seconds). */
  readonly onStoreWrite?: (seconds: number) => void;
  /** A node silent this long is shown unreachable, and moves off it need force (--node-timeout, default 30 s). */
  readonly unreachableAfterMs?: number;
  /** GET /v1/events readers get at most one event per section this often (default: eventPaceMs of the dataset count; 0: every change). */
  readonly eventsEveryMs?: number;
}


/** What control last heard from a node; kept after the node is forgotten, for fencing it. */
export interface LastHeard {
  readonly lastSeen: number;
  readonly era: string;
}

export interface HubEvents {
  /** Every change, as soon as it is committed (agents). */
  change: [sections: ReadonlySet<Section>, generation: number];
  /** The event stream's announcements: every section changed since the last one, paced. */
  events: [sections: ReadonlySet<Section>];
}

export class ControlHub extends EventEmitter<HubEvents> {
  readonly store: ConfigurationStore;
  readonly nodes: NodeTable;
  private readonly writer: ConfigWriter;
  private readonly views: Views;
  private pending = new Set<Section>();
  private flushScheduled = false;
  /** Counts announcements; agents see it in every `cluster` message. */
  private generationValue = 0;
  /** Convergence recomputed for a request between a change and its announcement. */
  private convergenceUnannounced = false;
  readonly now: () => number;
  readonly nodeTimeoutMs: number;
  readonly unreachableAfterMs: number;
  private readonly startedAt: number;
  private readonly heard = new Map<NodeId, LastHeard>();
  private unreachableValue: ReadonlySet<NodeId> = new Set();
  /** Rebuilt only when who is unreachable changes: convergence rows are kept while it is the same object. */
  private reach: Reachability;
  private readonly primaries: Primaries;
  private readonly deltas: EventDeltas;
  private readonly pace: EventPace;
  /** Counts the event stream's announcements; each one's deltas are worked out once. */
  private eventsGeneration = 0;
  /** Server time of the event stream's latest announcement: the `at` of its events. */
  private eventsAt = 0;
  /**
   * Names this process's event stream in event ids: a follower's Last-Event-ID from another
   * control service, or from before a restart, never matches, and it gets a snapshot.
   */
  private readonly eventsInstance = randomBytes(6).toString('hex');
  private readonly replay = new EventReplay(RESUME_MAX_ANNOUNCEMENTS, RESUME_MAX_BYTES);
  private eventReaders = 0;
  /** Keeps announcements being worked out and kept a while after the last reader left. */
  private lingering: NodeJS.Timeout | undefined;

  constructor(opts: HubOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.now = opts.now ?? Date.now;
    this.nodeTimeoutMs = opts.nodeTimeoutMs ?? 120_000;
    this.unreachableAfterMs = opts.unreachableAfterMs ?? 30_000;
    this.startedAt = this.now();
    this.store = opts.store ?? new MemoryStore();
    this.writer = new ConfigWriter(this.store, this.now, opts.onStoreWrite);
    this.nodes = new NodeTable(this.now, this.nodeTimeoutMs);
    this.primaries = new Primaries(this.store);
    this.views = new Views(this.store);
    this.deltas = new EventDeltas({
      deployment: () => this.deployment,
      cluster: () => this.cluster,
      tag: () => this.tag(),
      nodesLiveJson: () => this.nodesLiveJson(),
      leases: () => this.leases(),
      takeConvergenceChanges: () => this.views.takeConvergenceChanges(),
      dropConvergenceChanges: () => this.views.dropConvergenceChanges(),
    });
    this.reach = { unreachable: this.unreachableValue, timeoutSeconds: Math.round(this.unreachableAfterMs / 1000) };
    const fixedPace = opts.eventsEveryMs;
    this.pace = new EventPace(() => fixedPace ?? eventPaceMs(this.deployment.datasets.size), (sections) => {
      this.eventsGeneration += 1;
      this.eventsAt = this.now();
      if (this.replay.keeping) {
        this.replay.record({ generation: this.eventsGeneration, events: [...sections].map((s) => [s, this.eventJson(s)] as const) });
      }
      this.emit('events', sections);
    });
    this.store.on('change', (what) => {
      this.deltas.touched(what.datasetIds);
      if (what.datasets) this.changed('configuration', 'convergence');
      if (what.leases) this.changed('configuration', 'leases');
    });
    this.nodes.on('change', (sections) => this.changed(...sections));
    this.views.recomputeConvergence(this.deployment, this.cluster, this.now(), this.reach);
  }

  /** The committed configuration. */
  get deployment(): Deployment {
    return this.store.deployment;
  }

  get cluster(): ClusterState {
    return this.nodes.cluster;
  }

  /** What is committed: what agents are told (the same as `deployment`; kept for the fan-out). */
  get committed(): Deployment {
    return this.store.deployment;
  }

  /** The number of the latest announced change. */
  get generation(): number {
    return this.generationValue;
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

  agentHello(uuid: NodeId, era: string, host: string, transferPort?: number, name?: string): void {
    this.nodes.hello(uuid, era, host, transferPort, name);
    // Only a node coming back changes who is unreachable between the once-a-second checks.
    if (this.unreachableValue.has(uuid)) this.checkReachability();
  }

  agentReport(uuid: NodeId, report: NodeReport): void {
    this.nodes.report(uuid, report);
    if (this.unreachableValue.has(uuid)) this.checkReachability();
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

  // ---- reachability (--node-timeout) ----

  /** Nodes silent past --node-timeout: configured primaries and every node heard since start. */
  get unreachable(): ReadonlySet<NodeId> {
    return this.unreachableValue;
  }

  /** The era a node had when last heard from (for fencing it), if it was heard since control started. */
  lastHeard(node: NodeId): LastHeard | undefined {
    return this.heard.get(node);
  }

  /** Recompute who is unreachable (every second, and when such a node speaks); announces only a change. */
  checkReachability(): void {
    // Remembered beyond the node table, which forgets silent nodes: a fence needs their era.
    for (const n of Object.values(this.cluster.nodes)) this.heard.set(n.uuid, { lastSeen: n.lastSeen, era: n.era });
    const cutoff = this.now() - this.unreachableAfterMs;
    const next = new Set<NodeId>();
    for (const n of [...this.heard.keys(), ...this.primaries.current()]) if ((this.heard.get(n)?.lastSeen ?? this.startedAt) < cutoff) next.add(n);
    if (next.size === this.unreachableValue.size && [...next].every((n) => this.unreachableValue.has(n))) return;
    this.unreachableValue = next;
    this.reach = { unreachable: next, timeoutSeconds: Math.round(this.unreachableAfterMs / 1000) };
    this.changed('nodes', 'convergence');
  }

  /** /v1/state/manifests: every manifest a node reports, by dataset then node. */
  manifests(): ApiManifest[] {
    const out: ApiManifest[] = [];
    for (const n of Object.values(this.cluster.nodes)) {
      for (const m of n.report?.manifests ?? []) {
        out.push({ dataset_id: m.datasetId, node_uuid: n.uuid, held: m.held, metadata: { ...m.metadata }, maximum_size: m.maximumSize });
      }
    }
    return out.sort((a, b) => a.dataset_id.localeCompare(b.dataset_id) || a.node_uuid.localeCompare(b.node_uuid));
  }

  /** A node list with the unreachable ones flagged (rarely any, so not cached). */
  private flagUnreachable<T extends { uuid: string }>(json: string, rows: () => readonly T[]): string {
    if (this.unreachableValue.size === 0) return json;
    return JSON.stringify(rows().map((n) => (this.unreachableValue.has(n.uuid as NodeId) ? { ...n, unreachable: true } : n)));
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
    return this.flagUnreachable(this.views.nodes.json(this.cluster), () => this.views.nodes.get(this.cluster));
  }

  nodesLiveJson(): string {
    return this.flagUnreachable(this.views.nodesLive.json(this.cluster), () => this.views.nodesLive.get(this.cluster));
  }

  leases(): ApiLease[] {
    return this.views.leases(this.deployment, this.now());
  }

  convergenceJsonText(): string {
    this.convergenceCurrent();
    return this.views.convergenceJson;
  }

  /** Datasets by convergence phase (flocker_control_datasets), without serialising the rows. */
  convergencePhases(): ReadonlyMap<string, number> {
    this.convergenceCurrent();
    return this.views.convergencePhases();
  }

  private convergenceCurrent(): void {
    // A request right after a change, before the coalesced flush, must already see it.
    if (this.pending.has('convergence') && this.views.recomputeConvergence(this.deployment, this.cluster, this.now(), this.reach)) {
      this.convergenceUnannounced = true;
    }
  }

  /**
   * The sections' own cached texts put together (each is JSON.stringify of the section), so a
   * connecting reader at 100,000 datasets costs one 65 MB string, not the rows serialised again.
   */
  snapshotJson(): string {
    const convergence = this.convergenceJsonText();
    // Sorted like the other row sections, so a follower finds a row by binary search.
    const state = [...this.views.state.get(this.cluster)].sort((a, b) => byId(a.dataset_id, b.dataset_id));
    return `{"at":${JSON.stringify(this.now())},"configuration":${this.configurationJson()},"tag":${JSON.stringify(this.tag())},`
      + `"state":${JSON.stringify(state)},"nodes":${this.nodesLiveJson()},"leases":${JSON.stringify(this.leases())},"convergence":${convergence}}`;
  }

  /** The SSE id of announcement `generation` (default: the latest) of this process's event stream. */
  eventId(generation: number = this.eventsGeneration): string {
    return `${this.eventsInstance}.${generation}`;
  }

  /**
   * A GET /v1/events reader starts (then gets eventJson for each announcement): from where its
   * Last-Event-ID says it was, if every announcement since is kept, else from a snapshot.
   */
  openEvents(lastEventId?: string, maxReplayBytes = Infinity): EventsStart {
    if (this.eventReaders === 0 && this.lingering === undefined) {
      // Changes made since the last announcement were worked out for nobody, and are in the
      // snapshot only: a generation of its own marks where that snapshot stands, so no id handed
      // out before can resume past them.
      this.deltas.start();
      this.eventsGeneration += 1;
      this.replay.start(this.eventsGeneration);
    }
    clearTimeout(this.lingering);
    this.lingering = undefined;
    this.eventReaders += 1;
    const from = this.resumePoint(lastEventId);
    const missed = from === undefined ? undefined : this.replay.after(from, this.eventsGeneration);
    // More than a reader may have waiting for it would get it dropped at once: a snapshot then.
    if (missed && missed.reduce((n, a) => n + a.events.reduce((m, [, json]) => m + json.length, 0), 0) <= maxReplayBytes) {
      return { kind: 'resumed', missed };
    }
    return { kind: 'snapshot', json: this.snapshotJson(), id: this.eventId() };
  }

  private resumePoint(lastEventId: string | undefined): number | undefined {
    const dot = lastEventId?.lastIndexOf('.') ?? -1;
    if (lastEventId === undefined || dot < 0 || lastEventId.slice(0, dot) !== this.eventsInstance) return undefined;
    const n = Number(lastEventId.slice(dot + 1));
    return Number.isSafeInteger(n) ? n : undefined;
  }

  closeEvents(): void {
    this.eventReaders -= 1;
    if (this.eventReaders > 0) return;
    // Worked out and kept a while longer, for a reader that comes back; then nothing until the next.
    this.lingering = setTimeout(() => {
      this.lingering = undefined;
      this.replay.stop();
    }, RESUME_WINDOW_MS);
    this.lingering.unref();
  }

  /** The JSON text of the event stream's latest announcement for `section` (event-deltas.ts). */
  eventJson(section: Section): string {
    return this.deltas.json(section, this.eventsGeneration, this.eventsAt);
  }

  /** The store the configuration came from, for agents' configuration guard (issue 12). */
  get storeStamp(): { readonly identity: string; readonly generation: number } {
    return { identity: this.store.identity, generation: this.store.generation };
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
      const changed = this.views.recomputeConvergence(this.deployment, this.cluster, this.now(), this.reach) || this.convergenceUnannounced;
      this.convergenceUnannounced = false;
      if (!changed) sections.delete('convergence');
    }
    if (sections.size === 0) return;
    this.generationValue += 1;
    this.emit('change', sections, this.generationValue);
    this.pace.add(sections);
  }
}
