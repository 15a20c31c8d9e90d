// A teardown goes on past each failure, so that one stuck mount does not leave everything else
// behind; what it removed and what it could not are collected here and reported together.
import { errorMessage } from '../../errors.js';

export interface TeardownReport {
  readonly unmounted: readonly string[];
  readonly detached: readonly string[];
  readonly problems: readonly string[];
}

export const NOTHING_TORN_DOWN: TeardownReport = { unmounted: [], detached: [], problems: [] };

export class Teardown {
  readonly unmounted: string[] = [];
  readonly detached: string[] = [];
  readonly problems: string[] = [];

  /** Runs `f`; a failure becomes a problem named `what` instead of stopping the teardown. */
  attempt(what: string, f: () => void): void {
    try { f(); } catch (e) { this.problems.push(`${what}: ${errorMessage(e)}`); }
  }

  report(): TeardownReport {
    return { unmounted: this.unmounted, detached: this.detached, problems: this.problems };
  }
}
