// The dashboard's subscription to the cluster: client/follow.ts follows the event stream and
// reconnects; this keeps the snapshot, the history and the connection status, and hands them to
// React at most every RENDER_EVERY_MS: a burst of events is applied as it comes (cheap: each
// carries only what changed) and shown in one render, so the dashboard keeps up with the stream
// instead of rendering every event. The only place the dashboard does I/O besides the actions.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ControlClient } from '../../client/types.js';
import type { ClusterSnapshot } from '../../protocol/events.js';
import { addLog, advanceHistory, EMPTY_HISTORY, type FeedHistory, type LogLevel } from '../../client/history.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../../client/backoff.js';
import { followCluster } from '../../client/follow.js';
import { DatasetRows } from '../dataset-rows.js';

export const RENDER_EVERY_MS = 100;

export type FeedStatus =
  | { readonly kind: 'connecting' }
  /**
   * `address`: the control service the feed comes from (it changes on fail-over). `behindMs`:
   * how long after the server sent it the latest event shown was applied.
   */
  | { readonly kind: 'live'; readonly address?: string; readonly behindMs?: number }
  | { readonly kind: 'reconnecting'; readonly reason: string; readonly retryAt: number; readonly attempt: number };

export interface FeedState {
  readonly snapshot?: ClusterSnapshot;
  readonly history: FeedHistory;
  readonly status: FeedStatus;
}

export interface ClusterFeed extends FeedState {
  /** Add a line to the event log (action results). */
  readonly note: (level: LogLevel, text: string) => void;
  /** The dataset rows, told of every update so a render builds only the rows it changed. */
  readonly rows: DatasetRows;
}

const INITIAL: FeedState = { history: EMPTY_HISTORY, status: { kind: 'connecting' } };

/** The latest feed state, handed to `publish` at most once per `everyMs` however often it changes. */
export class CoalescedFeed {
  private value: FeedState = INITIAL;
  private timer: NodeJS.Timeout | undefined;
  private last = -Infinity;

  constructor(private readonly publish: (s: FeedState) => void, private readonly everyMs = RENDER_EVERY_MS, private readonly now = Date.now) {}

  get state(): FeedState {
    return this.value;
  }

  update(f: (s: FeedState) => FeedState): void {
    this.value = f(this.value);
    if (this.timer) return;
    // A timer even when due now: events already received are applied before it fires.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.last = this.now();
      this.publish(this.value);
    }, Math.max(0, this.last + this.everyMs - this.now()));
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export function useClusterFeed(client: ControlClient, backoff: BackoffOptions = DEFAULT_BACKOFF): ClusterFeed {
  const [state, setState] = useState<FeedState>(INITIAL);
  const feed = useRef<CoalescedFeed | undefined>(undefined);
  const [rows] = useState(() => new DatasetRows());

  useEffect(() => {
    const abort = new AbortController();
    const f = new CoalescedFeed(setState);
    feed.current = f;
    void follow(client, abort.signal, backoff, f, rows);
    return () => {
      abort.abort();
      f.close();
    };
    // The backoff object is configuration read once per client.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client]);

  const note = useCallback((level: LogLevel, text: string) => {
    feed.current?.update((s) => ({ ...s, history: addLog(s.history, { at: Date.now(), level, text }) }));
  }, []);

  return { ...state, note, rows };
}

async function follow(client: ControlClient, signal: AbortSignal, backoff: BackoffOptions, feed: CoalescedFeed, rows: DatasetRows): Promise<void> {
  for await (const u of followCluster(client, { signal, backoff })) {
    const now = Date.now();
    if (u.kind === 'event') {
      rows.note(u.snapshot, u.changed);
      feed.update((s) => ({
        snapshot: u.snapshot,
        history: advanceHistory(s.history, u.before, u.snapshot, now, {}, u.changed),
        status: { kind: 'live', address: client.address, behindMs: u.behindMs },
      }));
      continue;
    }
    feed.update((s) => ({
      ...s,
      status: { kind: 'reconnecting', reason: u.reason, retryAt: now + u.retryInMs, attempt: u.attempt },
      history: addLog(s.history, { at: now, level: 'warn', text: `connection lost (${u.reason}); reconnecting in ${Math.ceil(u.retryInMs / 1000)}s` }),
    }));
  }
}
