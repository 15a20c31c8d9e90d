// A bare agent-channel connection for tests: connect with a node certificate, send, wait for a
// matching message with a deadline.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { ControlMessage } from '../../src/protocol/channel.js';

export interface AgentSocket {
  ws: WebSocket;
  next(pred: (m: ControlMessage) => boolean, ms?: number): Promise<ControlMessage>;
  send(m: unknown): void;
  closed: Promise<void>;
}

export function connectAgentSocket(port: number, caCert: string, node: { cert: string; key: string }): Promise<AgentSocket> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/agent`, {
    ca: readFileSync(caCert), cert: readFileSync(node.cert), key: readFileSync(node.key),
  });
  const messages: ControlMessage[] = [];
  const waiters: { pred: (m: ControlMessage) => boolean; resolve: (m: ControlMessage) => void }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as ControlMessage;
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  const next = (pred: (m: ControlMessage) => boolean, ms = 10_000): Promise<ControlMessage> => {
    const have = messages.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no matching message in time')), ms);
      waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(m); } });
    });
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next, closed, send: (m) => ws.send(JSON.stringify(m)) }));
    ws.once('error', reject);
  });
}
