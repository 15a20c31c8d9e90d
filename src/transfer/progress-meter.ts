// What a pull tells its caller about its progress. Kept apart from the pull itself: how often to
// report and how to smooth the rate are presentation choices, not part of getting the bytes here.

export interface TransferProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly bytesPerSecond: number;
}

// Often enough for a live display, rarely enough that a fast transfer is not slowed by its callers.
const PROGRESS_EVERY_MS = 250;
// Long enough to even out chunk bursts, short enough that a stall shows within seconds.
const RATE_WINDOW_MS = 3_000;

/**
 * Progress at most every PROGRESS_EVERY_MS, with the rate over the last few seconds. A report held
 * back by the rate limit is delivered when the interval ends, so a display never stays on an old
 * figure while the transfer waits for the sender.
 */
export class ProgressMeter {
  private last = 0;
  private pending: { done: number; knownTotal: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private estimate: number | null = null;
  private samples: { at: number; bytes: number }[] = [];

  constructor(private readonly onProgress: ((p: TransferProgress) => void) | undefined) {}

  /** A (resumed) download begins at `done`; `estimate` stands in for the total until the sender knows it. */
  start(done: number, estimate: number | null): void {
    this.estimate = estimate;
    this.samples = [{ at: Date.now(), bytes: done }];
  }

  /** `force`: the last report of a pull, which must not be swallowed by the rate limit. */
  report(done: number, knownTotal: number, force = false): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_EVERY_MS) {
      this.pending = { done, knownTotal };
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        const p = this.pending;
        this.pending = undefined;
        if (p) this.report(p.done, p.knownTotal);
      }, PROGRESS_EVERY_MS - (now - this.last)).unref();
      return;
    }
    this.stop();
    this.last = now;
    this.samples.push({ at: now, bytes: done });
    while (this.samples.length > 2 && now - this.samples[0]!.at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (now - first.at) / 1000;
    const bytesPerSecond = seconds > 0 ? Math.max(0, (done - first.bytes) / seconds) : 0;
    const bytesTotal = knownTotal > 0 ? knownTotal : Math.max(this.estimate ?? 0, done);
    this.onProgress({ bytesDone: done, bytesTotal, bytesPerSecond: Math.round(bytesPerSecond) });
  }

  /** Drop a held-back report (the download stopped; whoever reports next says where it stands). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
