// The embedded configuration store: one SQLite file (default DATA_DIR/control.sqlite), one owner
// at a time. A commit is on disk (FULL sync) before it resolves, so a change is durable before the
// API answers. Being the only writer, the generation in memory is the one on disk.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sqlite3 from 'node-sqlite3-wasm';
import type { Dataset, Deployment, Lease } from '../model/configuration.js';
import { idMap, type IdMap } from '../model/id-map.js';
import { UserError } from '../errors.js';
import { applyChange, changedIds, isEmptyChange, replacedIds, type ConfigurationStore, type StoreChange, type StoreEvents, type StoreSnapshot } from './store.js';
import { clearStaleSqliteLocks, takePidLock, type PidLock } from './pid-lock.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';

const { Database } = sqlite3;
type Db = InstanceType<typeof Database>;

export const DB_FILE = 'control.sqlite';
export const PID_FILE = 'control.pid';

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

function parseRows<T>(db: Db, table: 'datasets' | 'leases', file: string): IdMap<T> {
  const out = new Map<string, T>();
  for (const row of db.all(`SELECT dataset_id, body FROM ${table}`)) {
    const id = row.dataset_id;
    const body = row.body;
    if (typeof id !== 'string' || typeof body !== 'string') throw new UserError(`${file}: corrupt row in ${table}`);
    try {
      out.set(id, JSON.parse(body) as T);
    } catch {
      throw new UserError(`${file}: corrupt row ${id} in ${table}`);
    }
  }
  return idMap(out);
}

function readMeta(db: Db, file: string): { identity: string; generation: number } {
  const rows = new Map<string, unknown>(db.all('SELECT key, value FROM meta').map((r) => [String(r.key), r.value]));
  const stored = rows.get('identity');
  let generation = Number(rows.get('generation') ?? 0);
  let identity: string;
  if (typeof stored === 'string') {
    identity = stored;
  } else {
    // First open (or an upgrade from schema 1): this store is born now.
    identity = randomUUID();
    generation = 0;
    inTransaction(db, () => {
      db.run("INSERT INTO meta (key, value) VALUES ('identity', ?)", [identity]);
      db.run("INSERT INTO meta (key, value) VALUES ('generation', '0')");
    });
  }
  if (!Number.isSafeInteger(generation) || generation < 0) throw new UserError(`${file}: corrupt generation in meta`);
  return { identity, generation };
}

class SqliteStore extends EventEmitter<StoreEvents> implements ConfigurationStore {
  private deploymentValue: Deployment;
  private generationValue: number;
  identity: string;
  readonly description: string;

  constructor(readonly path: string, private readonly db: Db, private readonly lock: PidLock) {
    super();
    this.description = `sqlite:${path}`;
    const meta = readMeta(db, path);
    this.identity = meta.identity;
    this.generationValue = meta.generation;
    this.deploymentValue = {
      datasets: parseRows<Dataset>(db, 'datasets', path),
      leases: parseRows<Lease>(db, 'leases', path),
    };
  }

  get deployment(): Deployment {
    return this.deploymentValue;
  }

  get generation(): number {
    return this.generationValue;
  }

  commit(base: number, next: number, change: StoreChange): Promise<boolean> {
    if (base !== this.generationValue) return Promise.resolve(false);
    if (next <= base) return Promise.reject(new Error(`generation must grow: ${base} -> ${next}`));
    try {
      inTransaction(this.db, () => {
        this.write(change);
        this.db.run("UPDATE meta SET value = ? WHERE key = 'generation'", [String(next)]);
      });
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    this.generationValue = next;
    if (!isEmptyChange(change)) {
      this.deploymentValue = applyChange(this.deploymentValue, change);
      this.emit('change', changedIds(change));
    }
    return Promise.resolve(true);
  }

  replaceAll(snap: StoreSnapshot): Promise<void> {
    const datasets: ReadonlyMap<string, Dataset> = new Map(snap.deployment.datasets);
    const leases: ReadonlyMap<string, Lease | null> = new Map(snap.deployment.leases);
    try {
      inTransaction(this.db, () => {
        this.db.exec('DELETE FROM datasets; DELETE FROM leases;');
        this.write({ datasets, leases });
        this.db.run("UPDATE meta SET value = ? WHERE key = 'identity'", [snap.identity]);
        this.db.run("UPDATE meta SET value = ? WHERE key = 'generation'", [String(snap.generation)]);
      });
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    this.identity = snap.identity;
    this.generationValue = snap.generation;
    const before = this.deploymentValue;
    this.deploymentValue = snap.deployment;
    this.emit('change', replacedIds(before, snap.deployment));
    return Promise.resolve();
  }

  /** The only writer: what it holds is already everything. */
  catchUp(): Promise<void> {
    return Promise.resolve();
  }

  private write(change: StoreChange): void {
    const upsert = (table: string) => this.db.prepare(
      `INSERT INTO ${table} (dataset_id, body) VALUES (?, ?) ON CONFLICT(dataset_id) DO UPDATE SET body = excluded.body`);
    if (change.datasets.size > 0) {
      const st = upsert('datasets');
      try {
        for (const [id, d] of change.datasets) st.run([id, JSON.stringify(d)]);
      } finally {
        st.finalize();
      }
    }
    if (change.leases.size > 0) {
      const put = upsert('leases');
      const del = this.db.prepare('DELETE FROM leases WHERE dataset_id = ?');
      try {
        for (const [id, l] of change.leases) {
          if (l === null) del.run([id]);
          else put.run([id, JSON.stringify(l)]);
        }
      } finally {
        put.finalize();
        del.finalize();
      }
    }
  }

  close(): Promise<void> {
    if (this.db.isOpen) {
      // Left as a plain one-file database: a copy of it is a whole backup, and any SQLite opens it.
      try {
        this.db.exec('PRAGMA journal_mode=DELETE');
      } catch {
        // Still closed below; the next open recovers from the log.
      }
      this.db.close();
    }
    this.lock.release();
    return Promise.resolve();
  }
}

/** DATA_DIR/control.sqlite, the default store. */
export function openStore(dataDir: string): ConfigurationStore {
  return openSqliteStore(join(dataDir, DB_FILE));
}

/**
 * Open (creating if needed) a SQLite store as its only owner: take control.pid beside the file,
 * clear a lock a crash left, migrate to the latest schema.
 */
export function openSqliteStore(file: string): ConfigurationStore {
  const dataDir = dirname(file);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new UserError(`cannot create data directory ${dataDir}: ${(e as Error).message}`);
  }
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
      // WAL + FULL sync: a commit survives kill -9 and power loss, with one fsync (of the log)
      // instead of the rollback journal's three: 3-4 ms a commit here instead of 12-18. This VFS
      // has no shared memory, so WAL needs exclusive locking; the pid lock already makes this
      // process the database's only user. close() turns it back into a one-file database.
      db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;');
      migrate(db, file);
      return new SqliteStore(file, db, lock);
    } catch (e) {
      db.close();
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot use ${file}: ${(e as Error).message}`);
    }
  } catch (e) {
    lock.release();
    throw e;
  }
}
