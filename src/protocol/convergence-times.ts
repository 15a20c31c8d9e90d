// How long datasets took to converge, worked out by a client from successive convergence rows
// (GET /v1/convergence or the event stream): from the start of the first unsettled phase seen
// (pending, creating, moving-out, …) to the `since` of the converged phase that ends it. Both
// times are the control service's, so the client's clock does not matter. Pure.
import type { ApiConvergenceRow } from './api-json.js';

export interface ConvergenceTimes {
  /** dataset → epoch ms its current unsettled stretch began. */
  readonly unsettledSince: Readonly<Record<string, number>>;
  /** The most recent convergence times, ms, oldest first. */
  readonly recent: readonly number[];
}

export const NO_CONVERGENCE_TIMES: ConvergenceTimes = { unsettledSince: {}, recent: [] };
const KEEP = 50;

/** A deleting dataset converges to nothing; only datasets heading for a node are timed. */
const TIMED = (phase: string): boolean => phase !== 'converged' && phase !== 'deleting';

export function trackConvergence(t: ConvergenceTimes, rows: readonly ApiConvergenceRow[]): { times: ConvergenceTimes; finished: { datasetId: string; ms: number }[] } {
  const unsettledSince: Record<string, number> = {};
  const finished: { datasetId: string; ms: number }[] = [];
  for (const r of rows) {
    const since = Date.parse(r.since);
    const started = Object.prototype.hasOwnProperty.call(t.unsettledSince, r.dataset_id) ? t.unsettledSince[r.dataset_id] : undefined;
    if (r.phase === 'converged') {
      if (started !== undefined && since >= started) finished.push({ datasetId: r.dataset_id, ms: since - started });
    } else if (TIMED(r.phase) && !Number.isNaN(since)) {
      unsettledSince[r.dataset_id] = started ?? since;
    }
  }
  if (finished.length === 0 && Object.keys(unsettledSince).length === Object.keys(t.unsettledSince).length
    && Object.keys(unsettledSince).every((k) => t.unsettledSince[k] === unsettledSince[k])) {
    return { times: t, finished };
  }
  return { times: { unsettledSince, recent: [...t.recent, ...finished.map((f) => f.ms)].slice(-KEEP) }, finished };
}

/**
 * trackConvergence for some rows only (an event's changed rows): `rows` are the current rows of
 * `ids` (an id without one is gone); every other dataset keeps what `t` says.
 */
export function trackConvergenceRows(
  t: ConvergenceTimes, rows: readonly ApiConvergenceRow[], ids: readonly string[],
): { times: ConvergenceTimes; finished: { datasetId: string; ms: number }[] } {
  if (ids.length === 0) return { times: t, finished: [] };
  const mentioned: Record<string, number> = {};
  for (const id of ids) if (Object.prototype.hasOwnProperty.call(t.unsettledSince, id)) mentioned[id] = t.unsettledSince[id] as number;
  const step = trackConvergence({ unsettledSince: mentioned, recent: t.recent }, rows);
  if (step.finished.length === 0 && sameRecord(step.times.unsettledSince, mentioned)) return { times: t, finished: step.finished };
  const unsettledSince: Record<string, number> = { ...t.unsettledSince };
  for (const id of ids) delete unsettledSince[id];
  Object.assign(unsettledSince, step.times.unsettledSince);
  return { times: { unsettledSince, recent: step.times.recent }, finished: step.finished };
}

function sameRecord(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The median of the recent times, or undefined before the first. */
export function medianMs(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** "p50 converge 35 ms (last 12)", or undefined before the first. */
export function describeConvergenceTimes(t: ConvergenceTimes): string | undefined {
  const m = medianMs(t.recent);
  if (m === undefined) return undefined;
  const v = m < 1000 ? `${Math.round(m)} ms` : `${(m / 1000).toFixed(1)} s`;
  return `p50 converge ${v} (last ${t.recent.length})`;
}
