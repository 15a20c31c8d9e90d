// Subscribe to the control service's event stream (GET /v1/events), fold it into a snapshot and
// a history, and reconnect by itself with capped backoff. The only place the dashboard does I/O
// besides the actions.
import { useCallback, useEffect, useState } from 'react';
import type { ControlClient } from '../../client/types.js';
import { applyEvent, type ClusterSnapshot } from '../../protocol/events.js';
import { errorMessage } from '../../errors.js';
import { addLog, advanceHistory, EMPTY_HISTORY, type FeedHistory, type LogLevel } from '../history.js';
import { abortableSleep } from '../../abortable-sleep.js';

export type FeedStatus =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'live' }
  | { readonly kind: 'reconnecting'; readonly reason: string; readonly retryAt: number; readonly attempt: number };

export interface FeedState {
  readonly snapshot?: ClusterSnapshot;
  readonly history: FeedHistory;
  readonly status: FeedStatus;
}

export interface ClusterFeed extends FeedState {
  /** Add a line to the event log (action results). */
  readonly note: (level: LogLevel, text: string) => void;
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000 };

export function useClusterFeed(client: ControlClient, backoff: BackoffOptions = DEFAULT_BACKOFF): ClusterFeed {
  const [state, setState] = useState<FeedState>({ history: EMPTY_HISTORY, status: { kind: 'connecting' } });

  useEffect(() => {
    const abort = new AbortController();
    void follow(client, abort.signal, backoff, setState);
    return () => abort.abort();
    // The backoff object is configuration read once per client.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client]);

  const note = useCallback((level: LogLevel, text: string) => {
    setState((s) => ({ ...s, history: addLog(s.history, { at: Date.now(), level, text }) }));
  }, []);

  return { ...state, note };
}

type SetFeed = (f: (s: FeedState) => FeedState) => void;

async function follow(client: ControlClient, signal: AbortSignal, backoff: BackoffOptions, set: SetFeed): Promise<void> {
  let delay = backoff.initialMs;
  let attempt = 0;
  while (!signal.aborted) {
    let reason = 'the event stream ended';
    try {
      for await (const e of client.events(signal)) {
        if (signal.aborted) return;
        if (e.type === 'snapshot') {
          delay = backoff.initialMs;
          attempt = 0;
        }
        const now = Date.now();
        set((s) => {
          const next = applyEvent(s.snapshot, e);
          if (!next) return s;
          return { snapshot: next, history: advanceHistory(s.history, s.snapshot, next, now), status: { kind: 'live' } };
        });
      }
    } catch (e) {
      reason = errorMessage(e);
    }
    if (signal.aborted) return;
    attempt += 1;
    const retryAt = Date.now() + delay;
    const wait = delay;
    set((s) => ({
      ...s,
      status: { kind: 'reconnecting', reason, retryAt, attempt },
      history: addLog(s.history, { at: Date.now(), level: 'warn', text: `connection lost (${reason}); reconnecting in ${Math.ceil(wait / 1000)}s` }),
    }));
    await abortableSleep(wait, signal);
    delay = Math.min(backoff.maxMs, delay * 2);
  }
}

