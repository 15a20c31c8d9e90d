// The dashboard's rows kept across renders (ui/dataset-rows.ts) are exactly the rows built from
// scratch, after any sequence of changes to the sections and the history (fast-check).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { EMPTY_HISTORY, type FeedHistory } from '../../src/client/history.js';
import type { ApiConvergenceRow, ApiDatasetConfig, ApiDatasetState } from '../../src/protocol/api-json.js';
import { applyRowChanges, type ClusterSnapshot } from '../../src/protocol/events.js';
import { DatasetRows } from '../../src/ui/dataset-rows.js';

const NOW = Date.parse('2026-01-01T00:00:30.000Z');
const id = (n: number): string => `0000000${n % 10}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const node = (n: number): string => `${n}${n}${n}${n}${n}${n}${n}${n}-0000-4000-8000-000000000000`;
const key = fc.integer({ min: 0, max: 15 });
const phase = fc.constantFrom('converged', 'error', 'deleting', 'moving-out', 'pending');

type Step =
  | { kind: 'config'; key: number; node: number; deleted: boolean; name: string }
  | { kind: 'state'; key: number; node: number | null }
  | { kind: 'convergence'; key: number; phase: string | null; sinceS: number }
  | { kind: 'history'; key: number; error: string | null };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('config' as const), key, node: fc.integer({ min: 1, max: 3 }), deleted: fc.boolean(), name: fc.constantFrom('', 'a', 'B', 'b', 'web') }),
  fc.record({ kind: fc.constant('state' as const), key, node: fc.option(fc.integer({ min: 1, max: 3 })) }),
  fc.record({ kind: fc.constant('convergence' as const), key, phase: fc.option(phase), sinceS: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ kind: fc.constant('history' as const), key, error: fc.option(fc.constantFrom('it failed', 'again')) }),
);

test('rows kept across renders equal rows built from scratch; nothing changed gives the same array', () => {
  // Each burst of steps is one feed update, noted with the ids it touched; a render comes after
  // some of them, sometimes of a snapshot object the feed never noted (every row is looked at).
  fc.assert(fc.property(fc.array(fc.tuple(fc.array(step, { maxLength: 4 }), fc.constantFrom('render', 'skip', 'unnoted')), { maxLength: 30 }), (updates) => {
    let snap: ClusterSnapshot = { at: 0, tag: 't', configuration: [], state: [], convergence: [], nodes: [], leases: [] };
    let history: FeedHistory = EMPTY_HISTORY;
    const kept = new DatasetRows();
    for (const [steps, then] of updates) {
      const touched = new Set<string>();
      for (const s of steps) {
        touched.add(id(s.key));
        if (s.kind === 'config') {
          const row: ApiDatasetConfig = { dataset_id: id(s.key), primary: node(s.node), deleted: s.deleted, metadata: s.name ? { name: s.name } : {}, maximum_size: 1 << 30 };
          snap = { ...snap, configuration: applyRowChanges(snap.configuration, { set: [row], removed: [] }) };
        } else if (s.kind === 'state') {
          const row: ApiDatasetState = { dataset_id: id(s.key), ...(s.node !== null ? { primary: node(s.node), path: `/f/${s.key}` } : {}) };
          snap = { ...snap, state: applyRowChanges(snap.state, s.node === null ? { set: [], removed: [row.dataset_id] } : { set: [row], removed: [] }) };
        } else if (s.kind === 'convergence') {
          const row = { dataset_id: id(s.key), desired_node: node(1), phase: s.phase ?? 'pending', reason: `r ${s.sinceS}`, since: new Date(NOW - s.sinceS * 1000).toISOString() } as ApiConvergenceRow;
          snap = { ...snap, convergence: applyRowChanges(snap.convergence, s.phase === null ? { set: [], removed: [row.dataset_id] } : { set: [row], removed: [] }) };
        } else {
          const lastError = { ...history.lastError };
          if (s.error === null) delete lastError[id(s.key)];
          else lastError[id(s.key)] = s.error;
          history = { ...history, lastError, phases: { ...history.phases, [id(s.key)]: [{ phase: 'error', reason: s.error ?? '', at: NOW }] } };
        }
      }
      snap = { ...snap };
      kept.note(snap, touched);
      if (then === 'skip') continue;
      const shown = then === 'unnoted' ? { ...snap } : snap;
      const before = kept.rows(shown, history);
      assert.equal(before, new DatasetRows().rows(shown, history));
      assert.is(kept.rows(shown, history), before, 'nothing changed: the same rows');
    }
  }), { numRuns: 500 });
});

test.run();
