// The one reconnect policy: for everything that follows the control service (event stream,
// agent channel, fail-over between addresses) and for transfers between agents. Waits double
// from `initialMs` up to `maxMs`, each jittered ±20% so clients cut off together don't return together.
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 };

export class Backoff {
  private stepMs = 0;
  private attempts = 0;

  constructor(private readonly o: BackoffOptions = DEFAULT_BACKOFF, private readonly random: () => number = Math.random) {}

  /** The next wait, ms (jittered); each call is one more attempt. */
  next(): number {
    this.attempts += 1;
    this.stepMs = this.stepMs === 0 ? this.o.initialMs : Math.min(this.o.maxMs, this.stepMs * 2);
    return Math.round(this.stepMs * (0.8 + 0.4 * this.random()));
  }

  /** A success (a connection that delivered): the next failure starts from the beginning. */
  reset(): void {
    this.stepMs = 0;
    this.attempts = 0;
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The current step without jitter (to log once per step rather than once per attempt). */
  get step(): number {
    return this.stepMs;
  }
}
