// Pushing to connected agents on every announced change agents care about: the delta from the
// view they hold, serialised once however many agents get it (push.ts), a snapshot to those that
// hold anything else. Changes that arrive while a push is still being written go out together.
import { WebSocket } from 'ws';
import { controlMetrics, secondsSince } from '../../metrics/registry.js';
import type { ControlHub, Section } from './hub.js';
import { TouchedSince } from '../../store/touched.js';
import { AgentCluster } from './agent-cluster.js';
import { PushEncoder } from './push.js';

/** How long changes may wait behind a push still being written (a slow socket) before going out anyway. */
const PUSH_WAIT_CAP_MS = 50;
/**
 * After a push that kept the event loop busy for T ms, the next waits at least this many times T:
 * pushes take at most about a third of control's time. Nothing with a hundred agents (T is a
 * millisecond or two); with 5,000 agents joining, each join's news to every agent would otherwise
 * be a push of 5,000 sends, one after another, and control would do nothing else.
 */
const PUSH_SPACING_FACTOR = 2;
/**
 * At most this many bytes of snapshots go out in one push; agents past it (just connected, or
 * behind) keep what they hold and get theirs in the next push. With 5,000 agents joining, one push
 * otherwise served a thousand snapshots of a 5,000-node cluster: 3 s of writes, then 6 s of
 * spacing, and a change made right after waited through both (over 10 s). Deltas to agents that
 * are up to date are never held back.
 */
export const SNAPSHOT_BYTES_PER_PUSH = 64 * 1024 * 1024;
/**
 * An agent with more than this waiting for it (and more than a few of the largest messages) has
 * stopped reading: it is handed to `onBehind` (dropped) instead of being queued more, so memory
 * stays bounded whatever agents do. It gets a snapshot when it reconnects.
 */
export const MIN_BACKLOG_BYTES = 8 * 1024 * 1024;
const BACKLOG_MESSAGES = 4;

export interface Recipient {
  readonly ws: WebSocket;
  readonly greeted: boolean;
  /** The generation of the view this agent holds (after the sends queued to it). */
  at?: number;
}

export class FanOut {
  private readonly push: PushEncoder;
  /** Configuration ids changed since the last push, so a delta compares only those. */
  private readonly touched: TouchedSince;
  private readonly agentCluster = new AgentCluster();
  private readonly metrics = controlMetrics();
  private pushing = false;
  private pushAgain = false;
  private pushCap: NodeJS.Timeout | undefined;
  /** performance.now() before which the next push waits (see PUSH_SPACING_FACTOR). */
  private nextAllowed = 0;
  private spacing: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onChange = (sections: ReadonlySet<Section>): void => {
    // Convergence is derived from what agents already get.
    if (sections.size === 1 && sections.has('convergence')) return;
    // While the last push is still being written, later changes wait and go out as one delta:
    // under a storm (thousands of agents joining) that turns one push per change into one per
    // write-out, and costs nothing when idle.
    if (this.pushing) this.pushAgain = true;
    else this.soon();
  };

  private largest = 0;

  constructor(
    private readonly hub: ControlHub,
    private readonly recipients: () => Iterable<Recipient>,
    private readonly onBehind: (r: Recipient, backlogBytes: number) => void = () => undefined,
    private readonly snapshotBytesPerPush = SNAPSHOT_BYTES_PER_PUSH,
  ) {
    this.push = new PushEncoder(() => hub.now());
    this.touched = new TouchedSince(hub.store);
    hub.on('change', this.onChange);
  }

  /** The agent asked for the whole view (a delta did not follow what it holds). */
  resync(a: Recipient): void {
    if (this.push.generation === undefined || a.ws.readyState !== WebSocket.OPEN) return;
    a.at = this.push.generation;
    const bytes = this.push.snapshot();
    this.count('snapshot', 1, bytes.length);
    a.ws.send(bytes, { binary: false });
  }

  /** Broadcast now, or once the spacing after the last push has passed. */
  private soon(): void {
    if (this.spacing || this.closed) return;
    const wait = this.nextAllowed - performance.now();
    if (wait <= 0) {
      this.broadcast();
      return;
    }
    this.spacing = setTimeout(() => {
      this.spacing = undefined;
      if (this.pushing) this.pushAgain = true;
      else if (!this.closed) this.broadcast();
    }, wait);
    this.spacing.unref();
  }

  broadcast(): void {
    const started = performance.now();
    const step = this.push.advance(
      this.hub.generation, { configuration: this.hub.committed, cluster: this.agentCluster.view(this.hub.cluster) }, this.hub.storeStamp, this.touched.take());
    let snapshot: Buffer | undefined;
    let deltas = 0;
    let snapshots = 0;
    let deferred = false;
    let outstanding = 1;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(this.pushCap);
      this.pushing = false;
      if (!this.pushAgain || this.closed) return;
      this.pushAgain = false;
      this.soon();
    };
    const done = (): void => {
      if (--outstanding > 0) return;
      this.metrics.configPushDuration.observe(secondsSince(started));
      release();
    };
    for (const a of this.recipients()) {
      if (!a.greeted || a.ws.readyState !== WebSocket.OPEN || a.at === this.push.generation) continue;
      if (a.ws.bufferedAmount > Math.max(MIN_BACKLOG_BYTES, BACKLOG_MESSAGES * this.largest)) {
        this.onBehind(a, a.ws.bufferedAmount);
        continue;
      }
      const held = a.at;
      if (step && held === step.from) {
        outstanding++;
        a.at = this.push.generation;
        deltas++;
        a.ws.send(step.delta, { binary: false }, done);
        continue;
      }
      snapshot ??= this.push.snapshot();
      if (snapshots > 0 && (snapshots + 1) * snapshot.length > this.snapshotBytesPerPush) {
        deferred = true;
        continue;
      }
      outstanding++;
      a.at = this.push.generation;
      snapshots++;
      a.ws.send(snapshot, { binary: false }, done);
    }
    if (outstanding === 1) return;
    // Those left waiting for a snapshot get it in the push after this one.
    if (deferred) this.pushAgain = true;
    const busy = performance.now() - started;
    this.nextAllowed = performance.now() + busy * PUSH_SPACING_FACTOR;
    this.pushing = true;
    this.pushCap = setTimeout(release, PUSH_WAIT_CAP_MS);
    this.pushCap.unref();
    done();
    // Counted per broadcast, not per send: with thousands of agents, per-send labels add up.
    this.largest = Math.max(this.largest, step?.delta.length ?? 0, snapshot?.length ?? 0);
    if (deltas > 0 && step) this.count('delta', deltas, step.delta.length);
    if (snapshots > 0 && snapshot) this.count('snapshot', snapshots, snapshot.length);
  }

  private count(kind: 'delta' | 'snapshot', messages: number, bytes: number): void {
    this.metrics.configPushes.inc({ kind }, messages);
    this.metrics.configPushBytes.inc({ kind }, messages * bytes);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.pushCap);
    clearTimeout(this.spacing);
    this.hub.off('change', this.onChange);
    this.touched.close();
  }
}
