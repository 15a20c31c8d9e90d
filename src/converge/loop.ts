// The agent's convergence loop: discover → report → plan → execute → sleep, level-based (every
// pass reads the world afresh and trusts no event). Time, backoff and error logging live here
// and nowhere else: the planner is pure and the drivers never retry.
import type { Logger } from '../log.js';
import type { ClusterState, DatasetProgress, NodeReport, TransferProgress } from '../model/cluster-state.js';
import type { Deployment } from '../model/configuration.js';
import type { DatasetId, NodeId } from '../model/ids.js';
import { errorMessage } from '../errors.js';
import { actionsOf, IDLE_MS, isNoop, type Change } from './changes.js';
import { sharedState, type LocalState } from './dataset-state.js';
import type { ExecResult } from './execute.js';
import { expectedAfter } from './expected.js';
import { guard, letsGo, sameMark, trustedMark, type StoreMark } from './guard.js';
import { knownElsewhere } from './peers.js';
import { plan, type Plan } from './plan.js';
import { stampProgress } from './progress.js';

export const BACKOFF_START_MS = 100;
export const BACKOFF_FACTOR = 4;
export const BACKOFF_MAX_MS = 10_000;

export interface Clock {
  now(): number;
  /** Calls fn after ms; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** The latest word from the control service. */
export interface LoopInputs {
  readonly configuration: Deployment;
  readonly cluster: ClusterState;
  /** Control's clock, epoch ms, advanced by the time since it was received. */
  readonly now: number;
  /** The store the configuration came from (absent from a control service that predates it). */
  readonly store?: StoreMark | undefined;
}

/** The highest store mark this node acted on, kept across restarts (in the agent's state-dir). */
export interface ActedOnMemory {
  get(): StoreMark | undefined;
  /** Called after a pass acted on a configuration in full; must be durable when it returns. */
  record(mark: StoreMark): Promise<void>;
}

export interface LoopDeps {
  readonly nodeId: NodeId;
  readonly mountRoot: string;
  readonly allocationUnit: number;
  readonly needsFilesystem: boolean;
  /** The volume the backend makes for a dataset (StorageBackend.volumeIdFor). */
  readonly volumeIdFor: (datasetId: DatasetId) => string;
  /** p2p backend: data is copied between nodes' private pools. */
  readonly peerToPeer?: boolean;
  discover(): Promise<LocalState>;
  /** Called as each pass starts (the agent counts loop iterations with it). */
  onPass?(): void;
  /** Hand the current report to the channel (which sends it only if it changed). */
  report(report: NodeReport): void;
  /** undefined while disconnected or before the first push: then nothing is changed locally. */
  inputs(): LoopInputs | undefined;
  execute(change: Change): Promise<ExecResult>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Spreads idle wake-ups ±20 % so many agents don't rediscover in step; none in tests. */
  readonly random?: () => number;
  /** This agent's era: a fence made against it makes the node let go first (guard.ts). */
  readonly era?: string;
  /** Without it, nothing is remembered: only missing rows are guarded against. */
  readonly actedOn?: ActedOnMemory;
}

type GuardedPlan = Plan & { readonly fenced: boolean; readonly record?: StoreMark };

type SleepKind = 'idle' | 'poll' | 'backoff';

function holdsFreeVolume(local: LocalState): boolean {
  for (const d of local.datasets.values()) if (d.kind === 'non-manifest') return true;
  return false;
}

export class ConvergenceLoop {
  private local: LocalState | undefined;
  private progress: DatasetProgress[] = [];
  private readonly errors = new Map<DatasetId, string>();
  /** Transfers under way (p2p), shown with the dataset's progress as they advance. */
  private readonly transfers = new Map<DatasetId, TransferProgress>();
  private backoffMs = 0;
  private sleepKind: SleepKind = 'idle';
  private lastWork: string | undefined;
  private waker: (() => void) | undefined;
  private pushedDuringPass = false;
  /**
   * Set when a pass ends by reading the world after its work and asks to go on at once: the next
   * pass starts from that reading instead of repeating it a moment later (each step of create →
   * attach → mount would otherwise read everything twice).
   */
  private justDiscovered = false;
  /** The sleep was cut short by a push that brought work (see ifOnlyAdding). */
  private wokenByPush = false;
  /** The acted-on write under way, if any. */
  private recording: { readonly mark: StoreMark; readonly done: Promise<void> } | undefined;
  /** Number of completed passes (for tests and logs). */
  passes = 0;

  constructor(private readonly deps: LoopDeps) {}

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let delay: number;
      this.pushedDuringPass = false;
      try {
        delay = await this.pass();
      } catch (e) {
        // Our bug, not the storage's: log it with its stack and keep the agent alive.
        this.deps.log.error({ err: e }, 'convergence pass failed unexpectedly');
        delay = this.grow();
      }
      this.passes++;
      if (signal.aborted) break;
      if (delay === 0) continue;
      if (this.pushedDuringPass && this.shouldWake()) {
        this.wokenByPush = true;
        continue;
      }
      await this.sleep(delay, signal);
    }
  }

  /**
   * The last reading of the world, if a push brought work that only adds (create, attach, mount)
   * by it: that work is done without reading the world again first. Safe on a stale reading:
   * each step fails rather than do harm (a create of what exists, an attach of what another node
   * holds, a mount of what is not attached here all refuse), and the reading after the work is
   * what gets reported. Anything that lets go reads afresh first.
   */
  private ifOnlyAdding(): LocalState | undefined {
    const inputs = this.deps.inputs();
    const local = this.local;
    if (!inputs || !local) return undefined;
    const p = this.planFor(inputs, local);
    if (isNoop(p.change) || letsGo(p.change)) return undefined;
    // In a shared pool, a volume another node made since our reading is missing from it: the
    // create would only fail (and back off) where a fresh reading shows whose the volume is.
    const madeElsewhere = actionsOf(p.change).some((a) => a.kind === 'create-volume' && knownElsewhere(inputs.cluster, a.datasetId, this.deps.nodeId));
    return madeElsewhere ? undefined : local;
  }

  /** Called after every push from control: re-plan on cached local state; wake if there is work. */
  onInputs(): void {
    if (!this.waker) {
      this.pushedDuringPass = true;
      return;
    }
    if (this.shouldWake()) {
      this.wokenByPush = true;
      this.waker();
    }
  }

  private shouldWake(): boolean {
    const inputs = this.deps.inputs();
    if (!inputs || !this.local) return false;
    const p = this.planFor(inputs, this.local);
    if (!isNoop(p.change)) {
      // The same work that just failed waits out its backoff; new work starts at once.
      return !(this.sleepKind === 'backoff' && JSON.stringify(p.change) === this.lastWork);
    }
    // Waiting on another node: the push may be the news we wait for, so look now.
    if (this.sleepKind === 'poll' || p.change.wakeAfterMs < IDLE_MS) return true;
    // A volume free in the pool is any node's to attach or destroy, and we report it from a cache
    // that only a pass refreshes: without this, a node that let a volume go keeps reporting it for
    // a whole idle sleep after another node took it or destroyed it (a deleted dataset stays in
    // the state). A push is the news that others acted; rediscovery is cheap, and an unchanged
    // report is not re-sent, so this cannot feed on itself.
    if (holdsFreeVolume(this.local)) return true;
    this.publish(this.local, p);
    return false;
  }

  private async pass(): Promise<number> {
    // A trusted new configuration is remembered whatever the plan: the write starts now, beside
    // the discovery, and a release further on finds it done.
    const early = this.deps.inputs();
    if (early) this.record(trustedMark(early.store, this.deps.actedOn?.get()));
    let local: LocalState;
    const fresh = this.justDiscovered ? this.local : this.wokenByPush ? this.ifOnlyAdding() : undefined;
    this.justDiscovered = false;
    this.wokenByPush = false;
    this.deps.onPass?.();
    try {
      local = fresh ?? (await this.deps.discover());
    } catch (e) {
      this.deps.log.warn({ err: errorMessage(e) }, 'discovering local state failed; will retry');
      return this.grow();
    }
    this.local = local;
    const inputs = this.deps.inputs();
    if (!inputs) {
      // No fresh configuration: report what is here, change nothing, wait for the push.
      this.deps.report({ ...sharedState(local), progress: this.progress });
      this.sleepKind = 'idle';
      return IDLE_MS;
    }
    const p = this.planFor(inputs, local);
    this.publish(local, p);
    // Before letting go of anything: a crash mid-way must still leave the mark of what was acted
    // on. Work that only adds (create, attach, mount) cannot lose data, so the durable write runs
    // beside it instead of in front of it.
    const remembered = this.record(p.record);
    if (isNoop(p.change) || letsGo(p.change)) await remembered;
    if (isNoop(p.change)) {
      this.backoffMs = 0;
      this.lastWork = undefined;
      this.sleepKind = p.change.wakeAfterMs < IDLE_MS ? 'poll' : 'idle';
      return this.sleepKind === 'idle' && this.deps.random ? IDLE_MS * (0.8 + 0.4 * this.deps.random()) : p.change.wakeAfterMs;
    }
    this.lastWork = JSON.stringify(p.change);
    this.deps.log.info({ actions: actionsOf(p.change) }, 'converging');
    const result = await this.deps.execute(p.change);
    for (const id of result.succeeded) this.errors.delete(id);
    for (const f of result.failures) {
      this.errors.set(f.datasetId, f.message);
      this.deps.log.warn({ dataset: f.datasetId, action: f.action, error: f.message }, 'action failed; will retry');
    }
    // Tell control what the work did now, not after the backoff sleep: first as the steps' own
    // success foretells it, then as the pool reads back.
    const expected = result.failures.length === 0 ? expectedAfter(local, p.change, this.deps.volumeIdFor) : undefined;
    const current = this.deps.inputs();
    if (expected && current) this.publish(expected, this.planFor(current, expected));
    let next: GuardedPlan | undefined;
    try {
      const after = await this.deps.discover();
      this.local = after;
      const latest = this.deps.inputs();
      if (latest) {
        next = this.planFor(latest, after);
        this.publish(after, next);
      }
    } catch (e) {
      this.deps.log.warn({ err: errorMessage(e) }, 'discovering local state failed; will retry');
    }
    // The write that ran beside the work ends with the pass; the reports above did not wait for it
    // (an fsync, 5–10 ms here), as nothing in them depends on it.
    await remembered;
    // Work that succeeded and moved things along goes on at once (create → attach → mount is
    // several passes, and each sleep would add to what a user waits for). Backoff is for failures
    // and for work that succeeds without changing what the next pass wants to do.
    if (result.failures.length === 0 && next && (isNoop(next.change) || JSON.stringify(next.change) !== this.lastWork)) {
      this.backoffMs = 0;
      this.sleepKind = 'backoff';
      this.justDiscovered = true;
      return 0;
    }
    return this.grow();
  }

  /**
   * A transfer's progress (undefined when it ends). Reported at once, beside the dataset's phase:
   * a long copy is one action, and a person wants to see it move, not wait for the pass to end.
   */
  onTransferProgress(datasetId: DatasetId, p: TransferProgress | undefined): void {
    if (p) this.transfers.set(datasetId, p);
    else this.transfers.delete(datasetId);
    this.progress = this.progress.map((x) => this.withTransfer(x));
    if (this.local) this.deps.report({ ...sharedState(this.local), progress: this.progress });
  }

  private withTransfer(x: DatasetProgress): DatasetProgress {
    const t = this.transfers.get(x.datasetId);
    if (t) return { ...x, transfer: t };
    if (x.transfer === undefined) return x;
    const { transfer: _done, ...rest } = x;
    return rest;
  }

  private planFor(inputs: LoopInputs, local: LocalState): GuardedPlan {
    const d = this.deps;
    const p = plan({
      nodeId: d.nodeId, configuration: inputs.configuration, cluster: inputs.cluster, local,
      mountRoot: d.mountRoot, now: inputs.now, allocationUnit: d.allocationUnit, needsFilesystem: d.needsFilesystem,
      peerToPeer: d.peerToPeer === true, volumeIdFor: d.volumeIdFor,
    });
    // Nothing destructive happens on a configuration this node cannot trust (guard.ts).
    const g = guard({
      nodeId: d.nodeId, era: d.era ?? '', configuration: inputs.configuration, store: inputs.store,
      actedOn: d.actedOn?.get(), local, plan: p,
    });
    return { ...g.plan, fenced: g.fenced, ...(g.record ? { record: g.record } : {}) };
  }

  private publish(local: LocalState, p: GuardedPlan): void {
    // An error is kept only while the dataset still needs work here.
    const active = new Set(p.progress.filter((x) => x.phase !== 'converged').map((x) => x.datasetId));
    for (const id of [...this.errors.keys()]) if (!active.has(id)) this.errors.delete(id);
    this.progress = stampProgress(p.progress, this.progress, this.errors, this.deps.clock.now()).map((x) => this.withTransfer(x));
    // A fenced node says nothing of what it holds until it has let go (it may not hold it at all).
    const shared = p.fenced ? { manifestations: [], nonManifest: [] } : sharedState(local);
    this.deps.report({ ...shared, progress: this.progress });
  }

  /**
   * Writes `mark` to the acted-on memory once this node acts on it. A write of the same mark
   * already under way is shared; another mark waits for it, so two writes never race and the
   * file never goes back to an older mark.
   */
  private record(mark: StoreMark | undefined): Promise<void> {
    const memory = this.deps.actedOn;
    if (!mark || !memory) return Promise.resolve();
    const w = this.recording;
    if (w && sameMark(w.mark, mark)) return w.done;
    const done = (w?.done ?? Promise.resolve()).then(() => memory.record(mark)).catch((e: unknown) => {
      this.deps.log.warn({ err: errorMessage(e) }, 'could not record the configuration acted on; will retry');
    }).finally(() => {
      if (this.recording?.done === done) this.recording = undefined;
    });
    this.recording = { mark, done };
    return done;
  }

  /** Failing or not advancing: 100 ms, ×4 each time, capped at 10 s; reset by progress or convergence. */
  private grow(): number {
    this.backoffMs = this.backoffMs === 0 ? BACKOFF_START_MS : Math.min(BACKOFF_MAX_MS, this.backoffMs * BACKOFF_FACTOR);
    this.sleepKind = 'backoff';
    return this.backoffMs;
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        cancel();
        signal.removeEventListener('abort', done);
        this.waker = undefined;
        resolve();
      };
      const cancel = this.deps.clock.setTimer(ms, done);
      this.waker = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
