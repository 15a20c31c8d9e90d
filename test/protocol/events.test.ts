// Folding an event's changes into sorted rows: by binary search for a few, one merge for many;
// either way the result is sorted, upserted by dataset_id, and the old array is left as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { applyRowChanges, findRow } from '../../src/protocol/events.js';

type Row = { dataset_id: string; v: number };
const key = fc.integer({ min: 0, max: 150 }).map((i) => `k${String(i).padStart(3, '0')}`);

test('applyRowChanges equals a map upsert then sort, for few and for many changes', () => {
  fc.assert(fc.property(fc.uniqueArray(key), fc.array(fc.tuple(key, fc.option(fc.integer()))), fc.uniqueArray(key), (have, sets, removed) => {
    const rows: Row[] = [...have].sort().map((k) => ({ dataset_id: k, v: 0 }));
    const before = structuredClone(rows);
    const set = [...new Map(sets.map(([k, v]) => [k, { dataset_id: k, v: v ?? 1 }])).values()];
    const gone = removed.filter((k) => !set.some((r) => r.dataset_id === k));
    const want = new Map(rows.map((r) => [r.dataset_id, r]));
    for (const k of gone) want.delete(k);
    for (const r of set) want.set(r.dataset_id, r);
    const got = applyRowChanges(rows, { set, removed: gone });
    assert.equal(got, [...want.values()].sort((a, b) => (a.dataset_id < b.dataset_id ? -1 : 1)));
    assert.equal(rows, before, 'the old rows are untouched');
    for (const r of got) assert.is(findRow(got, r.dataset_id), r);
  }), { numRuns: 300 });
});

test.run();
