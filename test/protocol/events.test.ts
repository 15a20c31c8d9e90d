// Folding an event's changes into sorted rows: by binary search for a few, one merge for many;
// either way the result is sorted, upserted by dataset_id, and the old array is left as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { applyEvent, applyRowChanges, coalesceEvents, findRow, type ClusterEvent, type ClusterSnapshot } from '../../src/protocol/events.js';

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

// Rows of any section, told apart by `v`; the sections' real fields do not matter to folding.
const rowsArb = fc.uniqueArray(key).map((ks) => ks.sort().map((k, v) => ({ dataset_id: k, v })));
const changesArb = fc.record({ set: fc.array(fc.tuple(key, fc.integer()).map(([k, v]) => ({ dataset_id: k, v }))), removed: fc.array(key) })
  .map((c) => ({ set: [...new Map(c.set.map((r) => [r.dataset_id, r])).values()], removed: c.removed.filter((k) => !c.set.some((r) => r.dataset_id === k)) }));
const eventArb = (at: number): fc.Arbitrary<ClusterEvent> => fc.oneof(
  fc.record({ configuration: rowsArb, state: rowsArb, convergence: rowsArb, tag: fc.string() })
    .map((x) => ({ type: 'snapshot', data: { at, ...x, nodes: [], leases: [] } }) as unknown as ClusterEvent),
  fc.tuple(fc.constantFrom('configuration', 'state', 'convergence'), changesArb, fc.string())
    .map(([type, c, tag]) => ({ type, data: { at, ...c, ...(type === 'configuration' ? { tag } : {}) } }) as unknown as ClusterEvent),
  fc.string().map((host) => ({ type: 'nodes', data: { at, nodes: [{ uuid: 'n', host, era: 'e', connected: true, last_seen: '' }] } }) as ClusterEvent),
  fc.nat().map((n) => ({ type: 'leases', data: { at, leases: n % 2 ? [] : [{ dataset_id: 'k000', node_uuid: 'n', expires: null }] } }) as ClusterEvent),
  fc.constant({ type: 'tick', data: { at } } as ClusterEvent),
);

test('events coalesced fold into the very snapshot the events one by one give', () => {
  const start: ClusterSnapshot = { at: 0, configuration: [], tag: 't', state: [], nodes: [], leases: [], convergence: [] };
  fc.assert(fc.property(fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => eventArb(i + 1)))), (events) => {
    const fold = (es: readonly ClusterEvent[]): ClusterSnapshot | undefined => es.reduce<ClusterSnapshot | undefined>(applyEvent, start);
    const coalesced = coalesceEvents(events);
    assert.equal(fold(coalesced), fold(events));
    assert.ok(coalesced.length <= 7, 'at most a snapshot and one event of each other type');
  }), { numRuns: 500 });
});

test.run();
