// The store contract on a real SQLite file in a temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { ConfigurationStore } from '../../src/store/store.js';
import { storeContract } from '../contracts/store-contract.js';

const dirs: string[] = [];
process.once('exit', () => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const paths = new WeakMap<ConfigurationStore, string>();

storeContract('sqlite', {
  fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'flocker-store-'));
    dirs.push(dir);
    const file = join(dir, 'control.sqlite');
    const s = openSqliteStore(file);
    paths.set(s, file);
    return Promise.resolve(s);
  },
  reopen(s) {
    const file = paths.get(s) ?? '';
    const r = openSqliteStore(file);
    paths.set(r, file);
    return Promise.resolve(r);
  },
});
