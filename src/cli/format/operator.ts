// What the operator commands (ls, create, move, destroy, list-nodes) share: connecting, resolving
// id prefixes with flockerctl's messages, JSON output and following the event stream for --wait.
import type { Writable } from 'node:stream';
import type { ControlClient } from '../../client/types.js';
import { resolveNode, resolvePrefix, type NamedNode } from '../../model/ids.js';
import { followCluster } from '../../client/follow.js';
import { UserError } from '../../errors.js';
import type { ConnectionSettings } from '../connection.js';
import { judgeWait, type WaitGoal, type WaitVerdict } from './wait.js';
import { describeTransfer, transferBar, type WireProgress } from '../../model/transfer-progress.js';

async function connectClient(s: ConnectionSettings): Promise<ControlClient> {
  // Lazy: TLS and the client are only loaded by the commands that talk to the control service.
  const { clientFromCertsDir } = await import('../../client/from-certs-dir.js');
  return clientFromCertsDir({
    host: s.host, port: s.port, fallbacks: s.fallbacks, certsPath: s.certsPath, user: s.user,
    onFailover: (to, _from, reason) => s.warn(`${reason}; trying the control service at ${to}`),
  });
}

/** Run fn with a connected client, always closing it. */
export async function withClient<T>(s: ConnectionSettings, fn: (c: ControlClient) => Promise<T>): Promise<T> {
  const client = await connectClient(s);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export function requireFlag(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UserError(`must specify ${flag}`);
  return value.trim();
}

/** A node by name or unique uuid prefix (--node, --destination), or one line saying why not. */
export function resolveNodeOrThrow(spec: string, nodes: readonly NamedNode[]): string {
  const r = resolveNode(spec, nodes);
  if (!r.ok) throw new UserError(r.message);
  return r.id;
}

/** A unique prefix, or flockerctl's "no node uuids matching X" / "X is ambiguous node". */
export function resolveOrThrow(prefix: string, ids: readonly string[], kind: 'node' | 'dataset'): string {
  const r = resolvePrefix(prefix, ids.map((i) => i.toLowerCase()), kind);
  if (!r.ok) throw new UserError(r.message);
  return r.id;
}

export function printJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** "120", "90s", "2m" -> ms. */
export function parseTimeout(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m) throw new UserError(`--timeout must be a duration like 120, 90s or 2m, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new UserError('--timeout must be positive');
  return ms;
}

/**
 * Follow GET /v1/events until the goal is met, fails, or the deadline passes; print each new
 * progress line. A dropped stream is followed again (the control service may be restarting).
 */
async function followUntil(
  client: ControlClient, goal: WaitGoal, o: { timeoutMs: number; progress: (v: Extract<WaitVerdict, { kind: 'waiting' }>) => void },
): Promise<WaitVerdict> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), o.timeoutMs);
  let last = '';
  let lastProblem = '';
  try {
    for await (const u of followCluster(client, { signal: abort.signal })) {
      if (u.kind === 'lost') {
        lastProblem = u.reason;
        continue;
      }
      // An event that does not touch the dataset leaves the verdict as it was.
      if (u.changed && !u.changed.has(goal.datasetId)) continue;
      const v = judgeWait(u.snapshot, goal);
      if (v.kind !== 'waiting') return v;
      if (v.line !== last || v.transfer) o.progress(v);
      last = v.line;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  const secs = Math.round(o.timeoutMs / 1000);
  const why = last || lastProblem || 'no progress reported';
  // An error the agents kept retrying until the deadline is the failure to report, as it stands.
  if (/: error: /.test(last)) return { kind: 'failed', line: `${last} (still failing after ${secs}s)` };
  return { kind: 'failed', line: `timed out after ${secs}s; last seen: ${why}` };
}

export interface ChangeReport {
  readonly out: Writable;
  readonly err: Writable;
  readonly json: boolean;
  readonly wait: boolean;
  readonly timeoutMs: number;
  /** What the control service answered: printed with --json, with the --wait verdict joined. */
  readonly record: object;
  readonly goal: WaitGoal;
  /** The plain-text line with and without --wait. */
  readonly waiting: string;
  readonly noWait: string;
}

/**
 * The end of create, move and destroy once the control service has recorded the change: print
 * it, and with --wait follow the cluster to the goal. Returns the exit code.
 */
export async function reportChange(c: ControlClient, o: ChangeReport): Promise<number> {
  if (!o.wait) {
    if (o.json) printJson(o.out, o.record);
    else o.out.write(`${o.noWait}\n`);
    return 0;
  }
  if (!o.json) o.out.write(`${o.waiting}\n`);
  const shown = new ProgressLines(o.out);
  const v = await followUntil(c, o.goal, { timeoutMs: o.timeoutMs, progress: (w) => { if (!o.json) shown.show(w.line, w.transfer); } });
  shown.end();
  if (o.json) printJson(o.out, { ...o.record, result: v.kind, message: v.line });
  else if (v.kind === 'done') o.out.write(`${v.line}\n`);
  else o.err.write(`flocker: ${v.line}\n`);
  return v.kind === 'done' ? 0 : 1;
}

/**
 * --wait's progress: on a terminal, a transfer redraws one line (a bar with rate and ETA); in a
 * pipe or a log, a plain line per new step and per tenth of a transfer, never a flood.
 */
export class ProgressLines {
  private lastLine = '';
  private lastTenth = -1;
  private drawing = false;
  private readonly tty: boolean;

  constructor(private readonly out: Writable) {
    this.tty = (out as Writable & { isTTY?: boolean }).isTTY === true;
  }

  show(line: string, transfer: WireProgress | undefined): void {
    const newStep = line !== this.lastLine;
    this.lastLine = line;
    if (!transfer) {
      if (newStep) this.write(`${line}\n`);
      return;
    }
    if (this.tty) {
      this.out.write(`\r\x1b[K${line} ${transferBar(transfer)}`);
      this.drawing = true;
      return;
    }
    const tenth = transfer.bytes_total > 0 ? Math.floor((10 * transfer.bytes_done) / transfer.bytes_total) : 0;
    if (!newStep && tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.write(`${line}: ${describeTransfer(transfer)}\n`);
  }

  end(): void {
    if (this.drawing) this.out.write('\n');
    this.drawing = false;
  }

  private write(text: string): void {
    this.end();
    this.out.write(text);
  }
}
