// The event stream's recent announcements, kept so a follower that lost its connection comes back
// where it was (Last-Event-ID) instead of loading a whole snapshot again: ~6 s and ~60 MB of
// JSON for a dashboard at 100,000 datasets, for what is often a second or two of changes.
// Bounded by count and bytes; a follower that was away longer gets a snapshot, as before.
import type { Section } from './sections.js';

export interface Announcement {
  readonly generation: number;
  /** Each changed section's event JSON, in the order they were sent. */
  readonly events: readonly (readonly [Section, string])[];
}

export class EventReplay {
  private entries: Announcement[] = [];
  private bytes = 0;
  /** The oldest generation a follower may resume from; undefined while nothing is kept. */
  private floor: number | undefined;

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  /** Keep from now on; `floor`: the earliest generation a follower may resume from. */
  start(floor: number): void {
    if (this.floor === undefined) this.floor = floor;
  }

  /** Forget everything and keep nothing until start(). */
  stop(): void {
    this.entries = [];
    this.bytes = 0;
    this.floor = undefined;
  }

  get keeping(): boolean {
    return this.floor !== undefined;
  }

  record(a: Announcement): void {
    if (this.floor === undefined) return;
    this.entries.push(a);
    for (const [, json] of a.events) this.bytes += json.length;
    while (this.entries.length > this.maxEntries || (this.bytes > this.maxBytes && this.entries.length > 0)) {
      const gone = this.entries.shift() as Announcement;
      for (const [, json] of gone.events) this.bytes -= json.length;
      // Resuming from `gone` itself needs only what came after it.
      this.floor = Math.max(this.floor, gone.generation);
    }
  }

  /**
   * The announcements after `generation`, for a follower that has everything up to it; undefined
   * when they are not all kept (or `generation` is not one this stream has made yet).
   */
  after(generation: number, latest: number): Announcement[] | undefined {
    if (this.floor === undefined || generation < this.floor || generation > latest) return undefined;
    return this.entries.filter((e) => e.generation > generation);
  }
}
