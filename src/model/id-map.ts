// PURE. The configuration's id-keyed records (datasets, leases) as persistent maps: a change
// makes a new map in O(log n) that shares everything else with the old one, so one edit of a
// 100,000-dataset configuration copies a few small nodes instead of 100,000 entries. This is the
// only module that knows the maps come from `immutable`; the rest of the tree uses the type and
// the helpers here. A look-up is `.get(id)`: keys are not properties, so no prototype pitfalls.
// On the wire and on disk the records stay plain JSON objects (see idMapToRecord).
import { Map as ImmutableMap } from 'immutable';

export type IdMap<T> = ImmutableMap<string, T>;

/** A map of `entries`: pairs, or a plain JSON record (own enumerable keys only). */
export function idMap<T>(entries: Iterable<readonly [string, T]> | Readonly<Record<string, T>> = []): IdMap<T> {
  const pairs: Iterable<readonly [string, T]> = Symbol.iterator in entries
    ? entries as Iterable<readonly [string, T]>
    : Object.entries(entries as Readonly<Record<string, T>>);
  return ImmutableMap<string, T>(pairs);
}

/** The plain JSON record the wire and the stores carry. */
export function idMapToRecord<T>(m: IdMap<T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of m) out[k] = v;
  return out;
}

/** `m` with `set` put and `remove` dropped, in one batch of mutations (no intermediate maps). */
export function patchIdMap<T>(m: IdMap<T>, set: Iterable<readonly [string, T]>, remove: Iterable<string> = []): IdMap<T> {
  return m.withMutations((w) => {
    for (const k of remove) w.delete(k);
    for (const [k, v] of set) w.set(k, v);
  });
}

/** The values sorted by key (the order every listing shows); walks the entries, no look-ups. */
export function sortedById<T>(m: IdMap<T>): T[] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
}
