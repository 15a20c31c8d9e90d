// Capped, jittered exponential backoff: one policy for every "try again later" that talks to a
// peer, so a cluster of agents that lost the same peer does not retry in lockstep.

export interface BackoffOptions {
  readonly startMs: number;
  readonly maxMs: number;
  readonly factor?: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  readonly jitter?: number;
  readonly random?: () => number;
}

export class Backoff {
  private currentMs = 0;

  constructor(private readonly o: BackoffOptions) {}

  /** The next delay to wait (grows from startMs by factor up to maxMs, jittered). */
  next(): number {
    const factor = this.o.factor ?? 2;
    this.currentMs = this.currentMs === 0 ? this.o.startMs : Math.min(this.o.maxMs, this.currentMs * factor);
    const jitter = this.o.jitter ?? 0.2;
    const r = (this.o.random ?? Math.random)();
    return Math.round(this.currentMs * (1 - jitter + 2 * jitter * r));
  }

  /** The un-jittered step reached (for logging once per step). */
  get stepMs(): number {
    return this.currentMs;
  }

  /** After a success: the next failure starts again from startMs. */
  reset(): void {
    this.currentMs = 0;
  }
}
