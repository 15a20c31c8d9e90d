// A control service restored from an old backup (an older generation of the same store) must not
// make the nodes undo what happened since: a dataset moved after the backup stays where it is, a
// dataset created after it stays mounted, both with their data; each node says why, and
// `flocker adopt` brings the configuration up to what the nodes hold.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestBed, type TestBed } from '../agent/harness.js';
import { cli, dataFile } from './support.js';

let dir = '';
let bed: TestBed | undefined;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-safety-backup-'));
});
test.after(async () => {
  await bed?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('restored-old-backup restart keeps every mount and its data; adopt catches the configuration up', async () => {
  bed = await makeTestBed(dir, 2, 'directory');
  const b = bed;
  const db = join(dir, 'control', 'control.sqlite');
  const backup = join(dir, 'backup.sqlite');
  await b.startControl();
  b.startAgent(0);
  b.startAgent(1);
  const [n0, n1] = [b.nodes[0]!.uuid, b.nodes[1]!.uuid];
  const d1 = (await b.client.createDataset({ primary: n0, maximum_size: 67108864, metadata: { name: 'moved-later' } })).dataset_id;
  await b.until('d1 mounted on node 0', async () => (await b.client.stateDatasets()).some((s) => s.dataset_id === d1 && s.primary === n0), 120_000);

  // The backup: taken with the control service stopped, as an operator would.
  await b.control!.stop();
  copyFileSync(db, backup);
  await b.startControl();

  const d2 = (await b.client.createDataset({ primary: n0, maximum_size: 67108864, metadata: { name: 'made-later' } })).dataset_id;
  await b.client.moveDataset(d1, n1);
  await b.until('d1 on node 1 and d2 on node 0', async () => {
    const state = await b.client.stateDatasets();
    return state.some((s) => s.dataset_id === d1 && s.primary === n1) && state.some((s) => s.dataset_id === d2 && s.primary === n0);
  }, 120_000);
  const data = { [d1]: `d1 ${Math.random()}\n`, [d2]: `d2 ${Math.random()}\n` };
  writeFileSync(dataFile(b, 1, d1), data[d1]!);
  writeFileSync(dataFile(b, 0, d2), data[d2]!);
  const intact = (): void => {
    assert.is(readFileSync(dataFile(b, 1, d1), 'utf8'), data[d1]);
    assert.is(readFileSync(dataFile(b, 0, d2), 'utf8'), data[d2]);
  };

  await b.control!.stop();
  copyFileSync(backup, db);
  await b.startControl();

  await b.until('both nodes keep what they hold and say why', async () => {
    const rows = await b.client.convergence();
    const r1 = rows.find((r) => r.dataset_id === d1);
    const r2 = rows.find((r) => r.dataset_id === d2);
    return r1?.phase === 'error' && /is older than one this node acted on/.test(r1.reason)
      && r2?.phase === 'error' && /has no dataset/.test(r2.reason);
  }, 120_000);
  intact();
  const state = await b.client.stateDatasets();
  assert.ok(state.some((s) => s.dataset_id === d1 && s.primary === n1), 'd1 still mounted on node 1');
  assert.ok(state.some((s) => s.dataset_id === d2 && s.primary === n0), 'd2 still mounted on node 0');

  const adopted = await cli(b, ['adopt']);
  assert.is(adopted.code, 0, adopted.err);
  assert.match(adopted.out, new RegExp(`add dataset ${d2} \\(name=made-later\\) on node ${n0.slice(0, 8)}`));
  assert.match(adopted.out, new RegExp(`point dataset ${d1} at node ${n1.slice(0, 8)}, which holds it \\(the configuration said node ${n0.slice(0, 8)}\\)`));
  await b.until('converged on what the nodes hold', async () => {
    const rows = await b.client.convergence();
    return rows.length === 2 && rows.every((r) => r.phase === 'converged');
  }, 120_000);
  const config = (await b.client.listDatasets()).datasets;
  assert.is(config.find((d) => d.dataset_id === d1)?.primary, n1);
  assert.is(config.find((d) => d.dataset_id === d2)?.primary, n0);
  intact();
});

test.run();
