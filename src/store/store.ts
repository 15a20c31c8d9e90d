// The control service's persistent configuration: DATA_DIR/control.sqlite, one owner at a time.
// save() commits before it returns, so a change is durable before the API answers.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'node-sqlite3-wasm';
import type { Dataset, Deployment, Lease } from '../model/configuration.js';
import { UserError } from '../errors.js';
import { clearStaleSqliteLocks, takePidLock, type PidLock } from './pid-lock.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';

const { Database } = sqlite3;
type Db = InstanceType<typeof Database>;

export const DB_FILE = 'control.sqlite';
export const PID_FILE = 'control.pid';

export interface ConfigurationStore {
  readonly path: string;
  load(): Deployment;
  /** Persist `next`; rows equal to the last saved ones are not rewritten. Returns whether anything was written. */
  save(next: Deployment): boolean;
  close(): void;
}

function schemaVersion(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT');
  const row = db.get('SELECT max(version) AS v FROM schema_version');
  return typeof row?.v === 'number' ? row.v : 0;
}

function inTransaction<T>(db: Db, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

function migrate(db: Db, file: string): void {
  const current = schemaVersion(db);
  if (current > LATEST_SCHEMA_VERSION) {
    throw new UserError(`${file} has schema version ${current}, newer than this flocker understands (${LATEST_SCHEMA_VERSION}); upgrade flocker`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    inTransaction(db, () => {
      db.exec(m.sql);
      db.run('INSERT INTO schema_version (version) VALUES (?)', [m.version]);
    });
  }
}

function parseRows<T>(db: Db, table: 'datasets' | 'leases', file: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const row of db.all(`SELECT dataset_id, body FROM ${table}`)) {
    const id = row.dataset_id;
    const body = row.body;
    if (typeof id !== 'string' || typeof body !== 'string') throw new UserError(`${file}: corrupt row in ${table}`);
    try {
      out[id] = JSON.parse(body) as T;
    } catch {
      throw new UserError(`${file}: corrupt row ${id} in ${table}`);
    }
  }
  return out;
}

/** Rows whose JSON text differs from what is on disk, and ids no longer present. */
function diff<T>(saved: Map<string, string>, refs: Map<string, unknown>, next: Readonly<Record<string, T>>): Diff {
  const upserts: [string, string][] = [];
  const seen: [string, unknown][] = [];
  for (const [id, value] of Object.entries(next)) {
    // Model transforms keep unchanged objects, so identity skips most serialisation.
    if (refs.get(id) === value) continue;
    const text = JSON.stringify(value);
    if (saved.get(id) !== text) upserts.push([id, text]);
    seen.push([id, value]);
  }
  const deletes = [...saved.keys()].filter((id) => !(id in next));
  return { upserts, deletes, seen };
}

interface Diff {
  upserts: [string, string][];
  deletes: string[];
  /** Objects now known to match the disk (applied after COMMIT). */
  seen: [string, unknown][];
}

class SqliteStore implements ConfigurationStore {
  private readonly savedDatasets = new Map<string, string>();
  private readonly savedLeases = new Map<string, string>();
  private readonly datasetRefs = new Map<string, unknown>();
  private readonly leaseRefs = new Map<string, unknown>();

  constructor(readonly path: string, private readonly db: Db, private readonly lock: PidLock) {}

  load(): Deployment {
    const datasets = parseRows<Dataset>(this.db, 'datasets', this.path);
    const leases = parseRows<Lease>(this.db, 'leases', this.path);
    this.savedDatasets.clear();
    this.savedLeases.clear();
    this.datasetRefs.clear();
    this.leaseRefs.clear();
    for (const [id, d] of Object.entries(datasets)) this.savedDatasets.set(id, JSON.stringify(d));
    for (const [id, l] of Object.entries(leases)) this.savedLeases.set(id, JSON.stringify(l));
    return { datasets, leases };
  }

  save(next: Deployment): boolean {
    const ds = diff(this.savedDatasets, this.datasetRefs, next.datasets);
    const ls = diff(this.savedLeases, this.leaseRefs, next.leases);
    if (ds.upserts.length + ds.deletes.length + ls.upserts.length + ls.deletes.length === 0) return false;
    inTransaction(this.db, () => {
      this.write('datasets', ds);
      this.write('leases', ls);
    });
    // Only after COMMIT: a failed write leaves the memo matching the disk.
    apply(this.savedDatasets, this.datasetRefs, ds);
    apply(this.savedLeases, this.leaseRefs, ls);
    return true;
  }

  private write(table: 'datasets' | 'leases', d: Diff): void {
    if (d.upserts.length > 0) {
      const st = this.db.prepare(`INSERT INTO ${table} (dataset_id, body) VALUES (?, ?) ON CONFLICT(dataset_id) DO UPDATE SET body = excluded.body`);
      try {
        for (const [id, text] of d.upserts) st.run([id, text]);
      } finally {
        st.finalize();
      }
    }
    if (d.deletes.length > 0) {
      const st = this.db.prepare(`DELETE FROM ${table} WHERE dataset_id = ?`);
      try {
        for (const id of d.deletes) st.run([id]);
      } finally {
        st.finalize();
      }
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
    this.lock.release();
  }
}

function apply(saved: Map<string, string>, refs: Map<string, unknown>, d: Diff): void {
  for (const [id, text] of d.upserts) saved.set(id, text);
  for (const [id, value] of d.seen) refs.set(id, value);
  for (const id of d.deletes) {
    saved.delete(id);
    refs.delete(id);
  }
}

/**
 * Open (creating if needed) DATA_DIR/control.sqlite as its only owner: take DATA_DIR/control.pid,
 * clear a lock a crash left, migrate to the latest schema.
 */
export function openStore(dataDir: string): ConfigurationStore {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new UserError(`cannot create data directory ${dataDir}: ${(e as Error).message}`);
  }
  const file = join(dataDir, DB_FILE);
  const lock = takePidLock(join(dataDir, PID_FILE));
  try {
    clearStaleSqliteLocks(file);
    let db: Db;
    try {
      db = new Database(file);
    } catch (e) {
      throw new UserError(`cannot open ${file}: ${(e as Error).message}`);
    }
    try {
      // DELETE journal + FULL sync: a commit survives kill -9 and power loss.
      db.exec('PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;');
      migrate(db, file);
    } catch (e) {
      db.close();
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot use ${file}: ${(e as Error).message}`);
    }
    return new SqliteStore(file, db, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}
