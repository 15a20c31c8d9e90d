// The dashboard's subscription to the cluster: client/follow.ts follows the event stream and
// reconnects; this keeps the snapshot, the history and the connection status in React state.
// The only place the dashboard does I/O besides the actions.
import { useCallback, useEffect, useState } from 'react';
import type { ControlClient } from '../../client/types.js';
import type { ClusterSnapshot } from '../../protocol/events.js';
import { addLog, advanceHistory, EMPTY_HISTORY, type FeedHistory, type LogLevel } from '../../client/history.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../../client/backoff.js';
import { followCluster } from '../../client/follow.js';

export type FeedStatus =
  | { readonly kind: 'connecting' }
  /** `address`: the control service the feed comes from (it changes on fail-over). */
  | { readonly kind: 'live'; readonly address?: string }
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
  for await (const u of followCluster(client, { signal, backoff })) {
    const now = Date.now();
    if (u.kind === 'event') {
      set((s) => ({ snapshot: u.snapshot, history: advanceHistory(s.history, u.before, u.snapshot, now), status: { kind: 'live', address: client.address } }));
      continue;
    }
    set((s) => ({
      ...s,
      status: { kind: 'reconnecting', reason: u.reason, retryAt: now + u.retryInMs, attempt: u.attempt },
      history: addLog(s.history, { at: now, level: 'warn', text: `connection lost (${u.reason}); reconnecting in ${Math.ceil(u.retryInMs / 1000)}s` }),
    }));
  }
}
