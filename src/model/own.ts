// PURE. Look-ups in id-keyed records that only ever see the record's own entries. Our records
// come from JSON (the store, the wire) and are plain objects, so `record['__proto__']` or
// `record['constructor']` would otherwise find Object.prototype's members and treat an id that
// was never stored as present.

/** The entry stored under `key`, or undefined; never an inherited member. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
