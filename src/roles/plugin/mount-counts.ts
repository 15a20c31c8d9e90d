// Which Docker mounts (by the `ID` Docker sends with Mount/Unmount) hold each volume on this node.
// The lease on a dataset is released only when its last mount goes. Persisted to a small JSON
// file so a plugin restart, while containers keep running, does not forget who still uses what.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../log.js';

/** Mount of a Docker without `ID` (before 1.12): counted under this key. */
const ANONYMOUS = '';

interface Entry {
  datasetId: string;
  /** Docker mount ID → how many Mounts it has not yet unmounted. A Map: any string, even `__proto__`, is just a key. */
  ids: Map<string, number>;
}

export class MountCounts {
  private readonly byName = new Map<string, Entry>();

  constructor(private readonly file: string | undefined, private readonly log?: Logger) {
    if (file) this.load(file);
  }

  /** Record a Mount; returns the number of mounts now held. */
  add(name: string, datasetId: string, id: string | undefined): number {
    let e = this.byName.get(name);
    if (!e || e.datasetId !== datasetId) {
      e = { datasetId, ids: new Map() };
      this.byName.set(name, e);
    }
    const key = id ?? ANONYMOUS;
    e.ids.set(key, (e.ids.get(key) ?? 0) + 1);
    this.save();
    return total(e);
  }

  /**
   * Record an Unmount. Returns the dataset and the number of mounts left, or undefined when this
   * plugin never counted a mount of that name (e.g. mounted before an upgrade).
   */
  remove(name: string, id: string | undefined): { datasetId: string; left: number } | undefined {
    const e = this.byName.get(name);
    if (!e) return undefined;
    const key = id ?? ANONYMOUS;
    const n = e.ids.get(key);
    if (n !== undefined) {
      if (n <= 1) e.ids.delete(key);
      else e.ids.set(key, n - 1);
    }
    const left = total(e);
    if (left === 0) this.byName.delete(name);
    this.save();
    return { datasetId: e.datasetId, left };
  }

  count(name: string): number {
    const e = this.byName.get(name);
    return e ? total(e) : 0;
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // first start
    }
    try {
      const doc = JSON.parse(text) as unknown;
      if (typeof doc !== 'object' || doc === null) return;
      for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
        if (typeof v !== 'object' || v === null) continue;
        const { datasetId, ids } = v as { datasetId?: unknown; ids?: unknown };
        if (typeof datasetId !== 'string' || typeof ids !== 'object' || ids === null) continue;
        const clean = new Map<string, number>();
        for (const [k, n] of Object.entries(ids)) if (typeof n === 'number' && Number.isFinite(n) && n >= 1) clean.set(k, Math.floor(n));
        if (clean.size > 0) this.byName.set(name, { datasetId, ids: clean });
      }
    } catch (e) {
      this.log?.warn({ file, err: String(e) }, 'ignoring unreadable mount-count file');
    }
  }

  private save(): void {
    if (!this.file) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.tmp`;
      // Object.fromEntries defines own properties, so a `__proto__` key is written like any other.
      const doc = Object.fromEntries([...this.byName].map(([name, e]) => [name, { datasetId: e.datasetId, ids: Object.fromEntries(e.ids) }]));
      writeFileSync(tmp, JSON.stringify(doc), { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (e) {
      // Counting still works in memory; only a restart would forget.
      this.log?.warn({ file: this.file, err: String(e) }, 'cannot persist mount counts');
    }
  }
}

function total(e: Entry): number {
  let n = 0;
  for (const v of e.ids.values()) n += v;
  return n;
}
