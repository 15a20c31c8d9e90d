// The one way to follow GET /v1/events: fold the stream into a snapshot, and when it drops
// (control restarting, a network cut, fail-over to another address) come back with the shared
// backoff. Every consumer (CLI --wait, dashboard, plugin, cluster up) iterates this and stops
// by breaking out or aborting the signal.
import { errorMessage } from '../errors.js';
import { abortableSleep } from '../abortable-sleep.js';
import { applyEvent, changedIds, type ClusterEvent, type ClusterSnapshot } from '../protocol/events.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { ControlClient, EventCursor } from './types.js';

export type FeedUpdate =
  /**
   * An event was applied: the snapshot before it (undefined before the first) and after it.
   * `changed`: the dataset_ids it touched (undefined for a snapshot: compare everything).
   * `behindMs`: how long after the server sent it we applied it (see Lag).
   */
  | {
    readonly kind: 'event'; readonly event: ClusterEvent; readonly before: ClusterSnapshot | undefined; readonly snapshot: ClusterSnapshot;
    readonly changed: ReadonlySet<string> | undefined; readonly behindMs: number;
  }
  /** The stream is gone; the next try is in `retryInMs`. `address` is where it was following. */
  | { readonly kind: 'lost'; readonly reason: string; readonly retryInMs: number; readonly attempt: number; readonly address: string };

export interface FollowOptions {
  readonly signal: AbortSignal;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  /** The local clock (epoch ms), for `behindMs`. */
  readonly now?: () => number;
}

/**
 * How far behind the server a follower is, from the `at` stamp of each event: the time from
 * stamp to use, less the smallest such time seen on this connection, which is taken as the
 * clocks' offset plus the network's least delay (so another machine's clock skew cancels out).
 */
export class Lag {
  private offset = Infinity;

  reset(): void {
    this.offset = Infinity;
  }

  behindMs(at: number, now: number): number {
    const d = now - at;
    if (d < this.offset) this.offset = d;
    return d - this.offset;
  }
}

export async function* followCluster(client: ControlClient, o: FollowOptions): AsyncGenerator<FeedUpdate, void, undefined> {
  const backoff = new Backoff(o.backoff ?? DEFAULT_BACKOFF, o.random);
  // Kept across reconnects, so the first snapshot after one is compared with what came before,
  // and a resumed stream goes on from it.
  let snapshot: ClusterSnapshot | undefined;
  const cursor: EventCursor = {};
  const now = o.now ?? Date.now;
  const lag = new Lag();
  while (!o.signal.aborted) {
    let reason = 'the event stream ended';
    lag.reset();
    try {
      for await (const event of client.events(o.signal, cursor)) {
        if (o.signal.aborted) return;
        const next = applyEvent(snapshot, event);
        if (!next) continue;
        if (event.type === 'snapshot' || event.type === 'resumed') backoff.reset();
        const before = snapshot;
        snapshot = next;
        yield { kind: 'event', event, before, snapshot: next, changed: changedIds(event), behindMs: lag.behindMs(next.at, now()) };
      }
    } catch (e) {
      reason = errorMessage(e);
    }
    if (o.signal.aborted) return;
    const retryInMs = backoff.next();
    yield { kind: 'lost', reason, retryInMs, attempt: backoff.attempt, address: client.address };
    await abortableSleep(retryInMs, o.signal);
  }
}
