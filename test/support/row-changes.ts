// For fake control services whose tests set whole sections: the event that turns `before` into
// `after` (every row of `after` set, the rows it lacks removed), sorted as the real stream is.
import type { RowChanges } from '../../src/protocol/events.js';

export function sortedRows<Row extends { dataset_id: string }>(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => (a.dataset_id < b.dataset_id ? -1 : a.dataset_id > b.dataset_id ? 1 : 0));
}

export function wholeAsChanges<Row extends { dataset_id: string }>(before: readonly Row[], after: readonly Row[], at = Date.now()): RowChanges<Row> {
  const keep = new Set(after.map((r) => r.dataset_id));
  return { at, set: sortedRows(structuredClone(after)), removed: before.map((r) => r.dataset_id).filter((id) => !keep.has(id)) };
}
