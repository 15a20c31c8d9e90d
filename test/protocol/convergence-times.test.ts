// Convergence times as a client works them out from successive convergence rows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiConvergenceRow } from '../../src/protocol/api-json.js';
import { describeConvergenceTimes, medianMs, NO_CONVERGENCE_TIMES, trackConvergence } from '../../src/protocol/convergence-times.js';

const T = Date.parse('2026-01-01T00:00:00.000Z');
const row = (id: string, phase: ApiConvergenceRow['phase'], at: number): ApiConvergenceRow => ({
  dataset_id: id, desired_node: 'n', phase, reason: '', since: new Date(T + at).toISOString(),
});

test('from the first unsettled phase seen to converged, in the control service\'s time', () => {
  let t = trackConvergence(NO_CONVERGENCE_TIMES, [row('a', 'pending', 0), row('b', 'converged', 0)]).times;
  t = trackConvergence(t, [row('a', 'creating', 10), row('b', 'moving-out', 100)]).times;
  const r = trackConvergence(t, [row('a', 'converged', 30), row('b', 'moving-in', 140)]);
  assert.equal(r.finished, [{ datasetId: 'a', ms: 30 }]);
  const r2 = trackConvergence(r.times, [row('a', 'converged', 30), row('b', 'converged', 175)]);
  assert.equal(r2.finished, [{ datasetId: 'b', ms: 75 }]);
  assert.equal(r2.times.recent, [30, 75]);
  // Already converged and still converged: nothing new.
  assert.equal(trackConvergence(r2.times, [row('a', 'converged', 30)]).finished, []);
  assert.is(describeConvergenceTimes(r2.times), 'p50 converge 30 ms (last 2)');
});

test('a dataset already converged when first seen, or being deleted, is not timed', () => {
  const t = trackConvergence(NO_CONVERGENCE_TIMES, [row('a', 'converged', 0), row('d', 'deleting', 0)]).times;
  assert.equal(trackConvergence(t, [row('a', 'converged', 0)]).finished, []);
  assert.is(describeConvergenceTimes(t), undefined);
  assert.is(medianMs([5, 1, 9]), 5);
  assert.is(medianMs([]), undefined);
});

test.run();
