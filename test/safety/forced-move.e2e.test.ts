// A node that dies holding a dataset: after --node-timeout it is shown unreachable, a plain move
// off it is refused (409, saying why and what --force does), a forced one fences it; when the
// node comes back it first lets go of what was moved off it, before anything else, and the
// dataset arrives on its new node with its data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestBed, type TestBed } from '../agent/harness.js';
import type { LsRow } from '../../src/cli/format/datasets.js';
import { failure } from '../support/failure.js';
import { cli, cliJson, convergingLines, dataFile, placeDatasets } from './support.js';

let dir = '';
let bed: TestBed | undefined;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-safety-fence-'));
});
test.after(async () => {
  await bed?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('forced move off a killed node; the node returns and lets go first', async () => {
  bed = await makeTestBed(dir, 2, 'directory');
  const b = bed;
  await b.startControl(['--node-timeout', '3']);
  b.startAgent(0);
  b.startAgent(1);
  const [n0, n1] = [b.nodes[0]!.uuid, b.nodes[1]!.uuid];
  const [placed] = await placeDatasets(b, [0]);
  const d1 = placed!.id;

  await b.nodes[0]!.proc!.kill9();
  await b.until('the dataset shown unreachable', async () => {
    const row = (await b.client.convergence()).find((r) => r.dataset_id === d1);
    return row?.phase === 'unreachable' && /node .* has not reported for over 3 s.*flocker move --force/.test(row.reason);
  }, 120_000);
  const nodes = await cli(b, ['list-nodes', '--long']);
  assert.match(nodes.out, new RegExp(`${n0}\\s+127\\.0\\.0\\.1 \\(unreachable\\)`));
  const ls = await cliJson<LsRow[]>(b, ['ls']);
  assert.is(ls.find((r) => r.dataset_id === d1)?.status, 'unreachable');

  const refused = await failure(b.client.moveDataset(d1, n1));
  assert.match(refused.message, /unreachable/);
  assert.match(refused.message, /--force/);
  assert.is((await b.client.listDatasets()).datasets.find((d) => d.dataset_id === d1)?.primary, n0);
  const plain = await cli(b, ['move', '--dataset', d1, '--destination', n1]);
  assert.is.not(plain.code, 0);
  assert.match(plain.err, /unreachable/);

  const forced = await cli(b, ['move', '--dataset', d1, '--destination', n1, '--force']);
  assert.is(forced.code, 0, forced.err);
  assert.is((await b.client.listDatasets()).datasets.find((d) => d.dataset_id === d1)?.primary, n1);
  // Work for the fenced node that must wait until it has let go.
  const d2 = (await b.client.createDataset({ primary: n0, maximum_size: 67108864 })).dataset_id;

  b.startAgent(0);
  await b.until('the dataset arrives on node 1', async () => (await b.client.stateDatasets()).some((s) => s.dataset_id === d1 && s.primary === n1), 120_000);
  assert.is(readFileSync(dataFile(b, 1, d1), 'utf8'), placed!.content);
  await b.until('node 0 back at work', async () => (await b.client.stateDatasets()).some((s) => s.dataset_id === d2 && s.primary === n0), 120_000);

  const first = convergingLines(b.nodes[0]!.proc!.log())[0];
  assert.ok(first, 'node 0 acted');
  assert.equal(first!.actions!.map((a) => [a.kind, a.datasetId]), [['unmount', d1], ['detach', d1]]);
});

test.run();
