// A clock the test moves by hand; records every sleep the loop asks for.
import type { Clock } from '../../src/converge/loop.js';

export class ManualClock implements Clock {
  t = 1_000_000;
  readonly requested: number[] = [];
  private timers: { at: number; fn: () => void }[] = [];

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const entry = { at: this.t + ms, fn };
    this.timers.push(entry);
    this.requested.push(ms);
    return () => {
      this.timers = this.timers.filter((x) => x !== entry);
    };
  }

  get pending(): number {
    return this.timers.length;
  }

  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
    await settle();
  }
}

/** Let every pending promise chain run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}
