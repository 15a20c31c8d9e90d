// What the agent channel sends, serialised once per change instead of once per agent: the delta
// from the previous pushed view (src/protocol/delta.ts) for every agent that holds that view, and
// a snapshot for the others (just connected, asked to resync, or missed a push). Texts are
// turned into Buffers once, so ws does not re-encode the same string for each socket.
import type { ControlMessage } from '../../protocol/channel.js';
import { deploymentToJson } from '../../model/configuration.js';
import { diffView, type AgentView, type Touched } from '../../protocol/delta.js';

/** Which store, at which generation, the configuration pushed comes from (issue 12's guard). */
export interface StoreStamp {
  readonly identity: string;
  readonly generation: number;
}

export interface PushStep {
  /** Agents holding this generation get `delta`; the others a snapshot. */
  readonly from: number;
  readonly delta: Buffer;
}

export class PushEncoder {
  private last: { readonly generation: number; readonly view: AgentView; readonly store: StoreStamp } | undefined;
  private snapshotPrefix: { readonly generation: number; readonly text: string } | undefined;

  constructor(private readonly now: () => number) {}

  /** The generation of the view agents are brought to. */
  get generation(): number | undefined {
    return this.last?.generation;
  }

  /**
   * Move to `view` (announced as `generation`). Returns the delta from the previous view, or
   * undefined when there was none or nothing an agent reads changed (then the previous view and
   * generation stay: agents holding it are up to date, and the next delta chains from it).
   * `touched`: every dataset and lease id changed since the previous call (see diffView).
   */
  advance(generation: number, view: AgentView, store: StoreStamp, touched?: Touched): PushStep | undefined {
    const prev = this.last;
    if (!prev) {
      this.last = { generation, view, store };
      return undefined;
    }
    const changes = diffView(prev.view, view, touched);
    if (!changes) return undefined;
    this.last = { generation, view, store };
    const m: ControlMessage = { type: 'delta', from: prev.generation, generation, changes, store, now: this.now() };
    return { from: prev.generation, delta: Buffer.from(JSON.stringify(m)) };
  }

  /** The current view in full, with control's clock as of now. */
  snapshot(): Buffer {
    const last = this.last;
    if (!last) throw new Error('snapshot before the first view');
    if (this.snapshotPrefix?.generation !== last.generation) {
      const m: ControlMessage = {
        type: 'cluster', generation: last.generation, configuration: deploymentToJson(last.view.configuration), cluster: last.view.cluster, store: last.store, now: 0,
      };
      const text = JSON.stringify(m);
      // `now` must be fresh per send (agents judge lease expiry by it): splice it at the end.
      this.snapshotPrefix = { generation: last.generation, text: text.slice(0, text.lastIndexOf('"now":0}')) };
    }
    return Buffer.from(`${this.snapshotPrefix.text}"now":${this.now()}}`);
  }
}
