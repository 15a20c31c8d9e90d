// PURE. Turn the planner's progress into DatasetProgress: keep `since` while the phase holds,
// and show the last execution error until an action on that dataset succeeds again.
import type { DatasetProgress } from '../model/cluster-state.js';
import type { DatasetId } from '../model/ids.js';
import type { PlannedProgress } from './transitions.js';

export function stampProgress(
  planned: readonly PlannedProgress[],
  previous: readonly DatasetProgress[],
  errors: ReadonlyMap<DatasetId, string>,
  now: number,
): DatasetProgress[] {
  const prev = new Map(previous.map((p) => [p.datasetId, p]));
  return planned.map((p) => {
    const error = p.phase === 'converged' ? undefined : errors.get(p.datasetId);
    const phase = error !== undefined ? 'error' : p.phase;
    const reason = error !== undefined ? error : p.reason;
    const before = prev.get(p.datasetId);
    const since = before && before.phase === phase ? before.since : now;
    return { datasetId: p.datasetId, phase, reason, since, ...(error !== undefined ? { lastError: error } : {}) };
  });
}
