// A control service restarted on an empty database (control.sqlite deleted) must not make the
// nodes let go of anything: every mount stays, with its data, each node reports why it keeps it,
// and `flocker adopt` then rebuilds the configuration so that `flocker ls` reads as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestBed, type TestBed } from '../agent/harness.js';
import type { LsRow } from '../../src/cli/format/datasets.js';
import { assertDataIntact, cli, cliJson, comparable, placeDatasets } from './support.js';

let dir = '';
let bed: TestBed | undefined;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-safety-empty-'));
});
test.after(async () => {
  await bed?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('empty-database restart keeps every mount and its data; adopt brings back the same flocker ls', async () => {
  bed = await makeTestBed(dir, 2, 'directory');
  await bed.startControl();
  bed.startAgent(0);
  bed.startAgent(1);
  const placed = await placeDatasets(bed, [0, 0, 1]);
  await bed.until('converged everywhere', async () => {
    const rows = await bed!.client.convergence();
    return rows.length === 3 && rows.every((r) => r.phase === 'converged');
  }, 120_000);
  const before = await cliJson<LsRow[]>(bed, ['ls']);
  assert.is(before.length, 3);

  await bed.control!.stop();
  rmSync(join(dir, 'control', 'control.sqlite'));
  await bed.startControl();

  // Each node reports every dataset it holds as an error that says what to do.
  await bed.until('every held dataset reported as kept, with a reason', async () => {
    const rows = await bed!.client.convergence();
    return placed.every((p) => rows.some((r) => r.dataset_id === p.id && r.phase === 'error' && /has no dataset .* although this node holds it.*flocker adopt/.test(r.reason)));
  }, 120_000);
  assertDataIntact(bed, placed);
  const during = await cliJson<LsRow[]>(bed, ['ls']);
  assert.equal(during.map((r) => [r.dataset_id, r.status]).sort(), placed.map((p) => [p.id, 'error']).sort());
  const state = await bed.client.stateDatasets();
  for (const p of placed) assert.ok(state.some((s) => s.dataset_id === p.id && s.primary === bed!.nodes[p.node]!.uuid), `${p.id} still mounted`);

  // Dry run first: says what it would do, changes nothing.
  const dry = await cli(bed, ['adopt', '--dry-run']);
  assert.is(dry.code, 0, dry.err);
  for (const p of placed) assert.match(dry.out, new RegExp(`would add dataset ${p.id} \\(name=safety-\\d,tier=db\\) on node ${bed.nodes[p.node]!.uuid.slice(0, 8)}, which holds it`));
  assert.is((await bed.client.listDatasets()).datasets.length, 0);

  const adopted = await cli(bed, ['adopt']);
  assert.is(adopted.code, 0, adopted.err);
  assert.match(adopted.out, /adopted: 3 changes to the configuration/);
  await bed.until('converged again', async () => {
    const rows = await bed!.client.convergence();
    return rows.length === 3 && rows.every((r) => r.phase === 'converged');
  }, 120_000);
  assert.equal(comparable(await cliJson<LsRow[]>(bed, ['ls'])), comparable(before));
  assertDataIntact(bed, placed);
  const again = await cli(bed, ['adopt']);
  assert.match(again.out, /nothing to adopt/);
});

test.run();
