// The event stream's announcements, paced: the first change after a quiet spell goes out at once,
// and changes that follow within `everyMs` go out together when it is up. At 100,000 datasets a
// follower pays for each event it applies with a copy of the section's rows (~5 ms), and a burst
// of creates announced one commit at a time kept a dashboard's process busy on a core the control
// service needed. The pace follows the cluster's size (eventPaceMs): a small cluster's followers
// pay almost nothing per event, and a person or `--wait` watching one dataset converge should not
// wait on a pace meant for bursts. Agents are not paced: they are pushed every change at once.

/** At most this long between a change and its event (at 100,000 datasets and more). */
export const MAX_EVENT_PACE_MS = 50;
/** A follower's cost per event grows with the rows it copies (~0.05 µs each): pace at ten times that. */
const PACE_MS_PER_DATASET = 0.0005;

export function eventPaceMs(datasets: number): number {
  return Math.min(MAX_EVENT_PACE_MS, datasets * PACE_MS_PER_DATASET);
}
import type { Section } from './sections.js';

export class EventPace {
  private pending = new Set<Section>();
  private timer: NodeJS.Timeout | undefined;
  private last = -Infinity;

  constructor(private readonly everyMs: () => number, private readonly announce: (sections: ReadonlySet<Section>) => void) {}

  add(sections: Iterable<Section>): void {
    for (const s of sections) this.pending.add(s);
    if (this.timer || this.pending.size === 0) return;
    const wait = this.last + this.everyMs() - performance.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, wait);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.last = performance.now();
    const sections = this.pending;
    this.pending = new Set();
    this.announce(sections);
  }
}
