// A bare agent-channel connection for tests: connect with a node certificate, send, wait for a
// matching message with a deadline. Deltas are applied as an agent does and handed on as the full
// view they produce, so assertions read like snapshots.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { ControlMessage } from '../../src/protocol/channel.js';
import { deploymentOf, deploymentToJson } from '../../src/model/configuration.js';
import { applyDelta, type AgentView } from '../../src/protocol/delta.js';

export interface AgentSocket {
  ws: WebSocket;
  next(pred: (m: ControlMessage) => boolean, ms?: number): Promise<ControlMessage>;
  send(m: unknown): void;
  closed: Promise<void>;
}

export interface AgentSocketOptions {
  /**
   * next() takes the message it returns, so the same predicate then waits for a later one. Off,
   * a message stays and answers every next() it matches (enough when only the latest view counts).
   */
  readonly consume?: boolean;
  /**
   * A delta that does not follow the view held: 'resync' asks for a snapshot as an agent does;
   * 'fail' throws, for a test of the push order itself.
   */
  readonly onGap?: 'resync' | 'fail';
  /** next()'s default deadline, ms. */
  readonly timeoutMs?: number;
}

export function connectAgentSocket(port: number, caCert: string, node: { cert: string; key: string }, opts: AgentSocketOptions = {}): Promise<AgentSocket> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/agent`, {
    ca: readFileSync(caCert), cert: readFileSync(node.cert), key: readFileSync(node.key),
  });
  const messages: ControlMessage[] = [];
  const waiters: { pred: (m: ControlMessage) => boolean; resolve: (m: ControlMessage) => void }[] = [];
  const take = (m: ControlMessage): ControlMessage => {
    if (opts.consume) messages.splice(messages.indexOf(m), 1);
    return m;
  };
  let held: { generation: number; view: AgentView } | undefined;
  ws.on('message', (d) => {
    let m = JSON.parse(d.toString()) as ControlMessage;
    if (m.type === 'cluster') held = { generation: m.generation, view: { configuration: deploymentOf(m.configuration), cluster: m.cluster } };
    else if (m.type === 'delta') {
      if (held?.generation !== m.from) {
        if (opts.onGap === 'fail') throw new Error(`delta from ${m.from} while holding ${String(held?.generation)}`);
        ws.send(JSON.stringify({ type: 'resync' }));
        return;
      }
      held = { generation: m.generation, view: applyDelta(held.view, m.changes) };
      m = { type: 'cluster', generation: m.generation, configuration: deploymentToJson(held.view.configuration), cluster: held.view.cluster, store: m.store ?? { identity: '', generation: 0 }, now: m.now };
    }
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  const next = (pred: (m: ControlMessage) => boolean, ms = opts.timeoutMs ?? 10_000): Promise<ControlMessage> => {
    const have = messages.find(pred);
    if (have) return Promise.resolve(take(have));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no matching message in time')), ms);
      waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(take(m)); } });
    });
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next, closed, send: (m) => ws.send(JSON.stringify(m)) }));
    ws.once('error', reject);
  });
}
