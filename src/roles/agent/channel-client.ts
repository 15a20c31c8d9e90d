// The agent's end of the channel: a WebSocket over mutual TLS to the control service. Says hello
// (with the boot id as era) and the latest report on every connect, re-sends the report whenever
// it changes, keeps the view control pushes (a snapshot, then deltas applied in order; a delta
// that does not follow asks for a snapshot), and reconnects with capped, jittered backoff.
import type { ConnectionOptions } from 'node:tls';
import WebSocket from 'ws';
import type { Logger } from '../../log.js';
import { agentMetrics } from '../../metrics/registry.js';
import type { NodeReport } from '../../model/cluster-state.js';
import { CHANNEL_PATH, CHANNEL_VERSION, type AgentMessage, type ControlMessage } from '../../protocol/channel.js';
import { parseControlMessage } from '../../protocol/channel-messages.js';
import { deploymentOf } from '../../model/configuration.js';
import { applyDelta, type AgentView } from '../../protocol/delta.js';
import type { LoopInputs } from '../../converge/loop.js';
import { Backoff, type BackoffOptions } from '../../client/backoff.js';

/** The view held, the generation it is at, and control's clock when it last spoke. */
interface Held {
  readonly generation: number;
  readonly view: AgentView;
  readonly now: number;
  readonly receivedAt: number;
  /** Which store the configuration came from, for the agent's configuration guard. */
  readonly store?: { readonly identity: string; readonly generation: number };
}

/** Agents come back quickly: a short outage of control should not leave them idle for long. */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 5_000 };
/**
 * The agent pings control this often (control's WebSocket answers each with a pong): a machine
 * that dies or drops off the network sends no FIN, and TCP alone would notice only after minutes.
 */
export const HEARTBEAT_MS = 1_000;
/** This much silence (not a byte: no message, ping or pong) means control, or the way to it, is gone. */
export const SILENCE_LIMIT_MS = 3_000;

export interface ChannelClientOptions {
  readonly host: string;
  readonly port: number;
  /** More control services (agent.yml's list), tried in order when the current one can't be reached. */
  readonly fallbacks?: readonly { readonly host: string; readonly port: number }[];
  readonly tls: ConnectionOptions;
  readonly era: string;
  /** Where peers reach this node; default: the local address of the connection to control. */
  readonly address?: string;
  /** Reported with hello when this agent serves agent-to-agent transfers. */
  readonly transferPort?: number;
  /** agent.yml `name`, sent in hello for people to read. */
  readonly name?: string;
  readonly log: Logger;
  /** Every cluster push (after it is stored, so inputs() already returns it). */
  onCluster(): void;
  /** Control refused us for good (e.g. another agent uses this node certificate). */
  onRefused(reason: string): void;
  readonly random?: () => number;
  readonly now?: () => number;
}

export class ChannelClient {
  private ws: WebSocket | undefined;
  private open = false;
  private stopped = false;
  private latest: Held | undefined;
  private readonly metrics = agentMetrics();
  private report: NodeReport | undefined;
  private sentReport: string | undefined;
  /** When control last had our current report (sent now, or unchanged since the last send). */
  private reportedAt: number | undefined;
  private readonly unregisterMetrics: () => void;
  /** A resync is on its way; further deltas before the snapshot need no second request. */
  private resyncAsked = false;
  private readonly backoff: Backoff;
  private loggedStep = 0;
  private readonly targets: readonly { readonly host: string; readonly port: number }[];
  private current = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** performance.now() when bytes last came from control on the current connection. */
  private lastHeard = 0;
  private readonly now: () => number;
  /** Resolved once the first cluster push arrives (tests and startup logging). */
  readonly firstPush: Promise<void>;
  private resolveFirstPush!: () => void;

  constructor(private readonly o: ChannelClientOptions) {
    this.now = o.now ?? Date.now;
    this.backoff = new Backoff(RECONNECT_BACKOFF, o.random);
    this.targets = [{ host: o.host, port: o.port }, ...(o.fallbacks ?? [])];
    this.firstPush = new Promise((r) => (this.resolveFirstPush = r));
    this.unregisterMetrics = this.metrics.lastReportAt.set(() => (this.reportedAt === undefined ? undefined : Date.now() - (this.now() - this.reportedAt)));
  }

  /** The control service in use (or being tried). */
  get url(): string {
    const { host, port } = this.targets[this.current]!;
    return `wss://${host.includes(':') ? `[${host}]` : host}:${port}${CHANNEL_PATH}`;
  }

  get connected(): boolean {
    return this.open;
  }

  start(): void {
    this.connect();
  }

  /**
   * The latest configuration and cluster state, with control's clock carried forward. Undefined
   * while disconnected: without fresh word from control the agent changes nothing.
   */
  inputs(): LoopInputs | undefined {
    if (!this.open || !this.latest) return undefined;
    const { view, now, receivedAt, store } = this.latest;
    return {
      configuration: view.configuration, cluster: view.cluster, now: now + (this.now() - receivedAt),
      ...(store ? { store } : {}),
    };
  }

  /** The current local report; sent now if connected and different from the last one sent. */
  setReport(report: NodeReport): void {
    this.report = report;
    this.flushReport();
  }

  stop(): void {
    this.stopped = true;
    this.unregisterMetrics();
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.open = false;
    this.ws?.removeAllListeners();
    this.ws?.on('error', () => undefined);
    this.ws?.terminate();
    this.ws = undefined;
  }

  private flushReport(): void {
    if (!this.open || !this.report) return;
    const text = JSON.stringify({ type: 'report', report: this.report } satisfies AgentMessage);
    if (text !== this.sentReport) {
      this.send(text);
      this.sentReport = text;
    }
    this.reportedAt = this.now();
  }

  private send(text: string): void {
    this.ws?.send(text, (e) => {
      if (e) this.o.log.debug({ err: e.message }, 'send failed; the connection is going away');
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.url, { ...this.o.tls, handshakeTimeout: 10_000, maxPayload: 256 * 1024 * 1024 });
    this.ws = ws;
    let failure: string | undefined;
    /** Closed by us for silence: the far end is gone, not restarting. */
    let silent = false;
    let localAddress: string | undefined;
    // The address this node has on the route to control (in its own network namespace, on its
    // own interface): the one peers can reach it at, unlike 0.0.0.0 or a name.
    ws.on('upgrade', (res) => {
      const a = res.socket.localAddress;
      localAddress = a?.startsWith('::ffff:') ? a.slice(7) : a;
      // Any bytes count as word from control: a pong cannot overtake a big snapshot still arriving.
      res.socket.on('data', () => {
        if (this.ws === ws) this.heard();
      });
    });
    ws.on('open', () => {
      this.open = true;
      this.sentReport = undefined;
      this.resyncAsked = false;
      this.o.log.info({ url: this.url }, 'connected to the control service');
      this.backoff.reset();
      this.loggedStep = 0;
      const address = this.o.address ?? localAddress;
      this.send(JSON.stringify({
        type: 'hello', version: CHANNEL_VERSION, era: this.o.era,
        ...(address ? { address } : {}),
        ...(this.o.transferPort !== undefined ? { transferPort: this.o.transferPort } : {}),
        ...(this.o.name !== undefined ? { name: this.o.name } : {}),
      } satisfies AgentMessage));
      this.flushReport();
      this.heard();
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => {
        // Timers run before pending socket reads: after a stall of our own, read what came first.
        setImmediate(() => {
          if (this.ws !== ws || !this.open) return;
          if (performance.now() - this.lastHeard <= SILENCE_LIMIT_MS) {
            ws.ping();
            return;
          }
          this.o.log.warn({ url: this.url }, `no word from the control service for ${SILENCE_LIMIT_MS / 1000} s; dropping it`);
          silent = true;
          failure = `silent for ${SILENCE_LIMIT_MS / 1000} s`;
          ws.terminate();
        });
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const parsed = parseControlMessage(data.toString());
      if (!parsed.ok) {
        this.o.log.warn({ problem: parsed.problem }, 'ignored a malformed message from the control service');
        return;
      }
      const m = parsed.message;
      if (m.type === 'refused') {
        this.stop();
        this.o.onRefused(m.reason);
        return;
      }
      if (!this.take(m)) return;
      this.resolveFirstPush();
      this.o.onCluster();
    });
    ws.on('unexpected-response', (_req, res) => {
      failure = `HTTP ${res.statusCode} on ${CHANNEL_PATH}`;
      ws.terminate();
    });
    ws.on('error', (e) => {
      failure = e.message;
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      const wasOpen = this.open;
      this.open = false;
      this.ws = undefined;
      // A reconnect must bring a fresh push before the agent acts again.
      this.latest = undefined;
      clearInterval(this.heartbeat);
      if (this.stopped) return;
      if (wasOpen) {
        this.o.log.warn({ code, reason: reason.toString() || undefined }, 'lost the connection to the control service; keeping local state as it is');
        // Wake the loop so it stops acting on a configuration it can no longer trust.
        this.o.onCluster();
      }
      this.scheduleReconnect(failure ?? (wasOpen ? 'connection closed' : `closed (${code})`), wasOpen && !silent);
    });
  }

  /** Apply a push; false when it cannot be (a gap: a snapshot has been asked for). */
  private take(m: Exclude<ControlMessage, { type: 'refused' }>): boolean {
    const receivedAt = this.now();
    if (m.type === 'cluster') {
      this.metrics.configUpdates.inc({ kind: 'snapshot' });
      this.latest = { generation: m.generation, view: { configuration: deploymentOf(m.configuration), cluster: m.cluster }, now: m.now, receivedAt, store: m.store };
      this.resyncAsked = false;
      return true;
    }
    const held = this.latest;
    if (!held || held.generation !== m.from) {
      // A missed delta: act on nothing until the snapshot comes, rather than on a wrong view.
      this.metrics.configUpdates.inc({ kind: 'gap' });
      this.o.log.info({ have: held?.generation, from: m.from }, 'a push did not follow the one held; asking for a snapshot');
      this.latest = undefined;
      if (!this.resyncAsked) this.send(JSON.stringify({ type: 'resync' } satisfies AgentMessage));
      this.resyncAsked = true;
      return false;
    }
    this.metrics.configUpdates.inc({ kind: 'delta' });
    const store = m.store ?? held.store;
    this.latest = { generation: m.generation, view: applyDelta(held.view, m.changes), now: m.now, receivedAt, ...(store ? { store } : {}) };
    return true;
  }

  private heard(): void {
    this.lastHeard = performance.now();
  }

  /** `retrySame`: the connection dropped (control may only have restarted), so try it once more first. */
  private scheduleReconnect(why: string, retrySame: boolean): void {
    const wait = this.backoff.next();
    // Log once per backoff step, not once per attempt.
    if (this.backoff.step !== this.loggedStep) {
      this.loggedStep = this.backoff.step;
      this.o.log.warn({ url: this.url, error: why }, `control service unreachable; retrying every ${(this.backoff.step / 1000).toFixed(2)} s or so`);
    }
    // Could not get through, or it fell silent: the next attempt goes to the next address.
    if (!retrySame && this.targets.length > 1) {
      this.current = (this.current + 1) % this.targets.length;
      this.o.log.info({ url: this.url }, 'trying the next control service');
    }
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }
}
