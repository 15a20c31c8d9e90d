// End to end: a real control service and two real agents sharing a directory pool.
// create → reported with a path; move → same data on the new node, never exposed on both;
// a lease holds a move until released; delete → destroyed.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeTestBed, startTestBed, type TestBed } from './harness.js';
import { holdsFor } from '../support/until.js';

let bed: TestBed;

test.before(async () => {
  bed = await startTestBed('agent-e2e');
});

test.after(() => removeTestBed(bed));

const stateOf = async (id: string) => (await bed.client.stateDatasets()).find((d) => d.dataset_id === id);
const exposedOn = (id: string): number[] =>
  bed.nodes.flatMap((n, i) => (existsSync(join(n.mountRoot, id, 'hello.txt')) ? [i] : []));

/** Watches both mount roots while `during` runs; fails if the file is ever visible on both. */
async function neverOnBoth(id: string, during: () => Promise<void>): Promise<number> {
  let worst = 0;
  let samples = 0;
  let running = true;
  const watcher = (async () => {
    while (running) {
      worst = Math.max(worst, exposedOn(id).length);
      samples++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await watcher;
  }
  assert.ok(worst <= 1, 'dataset exposed on two nodes at once');
  return samples;
}

let datasetId = '';

test('create: the dataset is mounted on its primary and reported with a path', async () => {
  const [n0] = bed.nodes;
  const created = await bed.client.createDataset({ primary: n0!.uuid, maximum_size: 67_108_864, metadata: { name: 'e2e' } });
  datasetId = created.dataset_id;
  const s = await bed.until('state to show the dataset mounted', async () => {
    const st = await stateOf(datasetId);
    return st?.path ? st : undefined;
  });
  assert.is(s.primary, n0!.uuid);
  assert.is(s.path, join(n0!.mountRoot, datasetId));
  writeFileSync(join(s.path!, 'hello.txt'), 'precious data');
  const row = await bed.until('convergence row', async () => (await bed.client.convergence()).find((r) => r.dataset_id === datasetId && r.phase === 'converged'));
  assert.is(row.desired_node, n0!.uuid);
});

test('move: the data arrives intact on the new node and is never exposed on both', async () => {
  const [, n1] = bed.nodes;
  const samples = await neverOnBoth(datasetId, async () => {
    await bed.client.moveDataset(datasetId, n1!.uuid);
    await bed.until('state to show the dataset on node 1', async () => {
      const st = await stateOf(datasetId);
      return st?.primary === n1!.uuid && st.path ? st : undefined;
    });
  });
  assert.ok(samples > 10, `watcher sampled ${samples} times`);
  assert.is(readFileSync(join(n1!.mountRoot, datasetId, 'hello.txt'), 'utf8'), 'precious data');
  assert.equal(exposedOn(datasetId), [1]);
});

test('a lease held by the current node holds a move until it is released', async () => {
  const [n0, n1] = bed.nodes;
  await bed.client.acquireLease(datasetId, n1!.uuid, null);
  await bed.client.moveDataset(datasetId, n0!.uuid);
  const row = await bed.until('the convergence row to say a lease holds it', async () =>
    (await bed.client.convergence()).find((r) => r.dataset_id === datasetId && r.phase === 'waiting-for-lease'));
  assert.match(row.reason, /lease/);
  await holdsFor('the dataset stays on the leasing node', () => JSON.stringify(exposedOn(datasetId)) === '[1]', 1500);
  await neverOnBoth(datasetId, async () => {
    await bed.client.releaseLease(datasetId);
    await bed.until('state to show the dataset back on node 0', async () => {
      const st = await stateOf(datasetId);
      return st?.primary === n0!.uuid && st.path ? st : undefined;
    });
  });
  assert.is(readFileSync(join(n0!.mountRoot, datasetId, 'hello.txt'), 'utf8'), 'precious data');
});

test('delete: the dataset is unmounted and destroyed', async () => {
  await bed.client.deleteDataset(datasetId);
  await bed.until('the dataset to leave the state', async () => ((await stateOf(datasetId)) ? undefined : true));
  await bed.until('the volume to leave the pool', () => (readdirSync(join(bed.pool, 'volumes')).length === 0 ? true : undefined));
  assert.equal(exposedOn(datasetId), []);
  assert.not.ok(existsSync(join(bed.nodes[0]!.mountRoot, datasetId, 'hello.txt')));
});

test('a failing step shows as phase error with a reason a person can act on, until it succeeds', async () => {
  const [n0] = bed.nodes;
  const id = randomUUID();
  // Something a person left where the dataset must appear.
  writeFileSync(join(n0!.mountRoot, id), 'in the way');
  await bed.client.createDataset({ primary: n0!.uuid, dataset_id: id });
  const row = await bed.until('an error row', async () => (await bed.client.convergence()).find((r) => r.dataset_id === id && r.phase === 'error'));
  assert.match(row.reason, /exists and is not a directory/);
  assert.is(row.last_error, row.reason);
  rmSync(join(n0!.mountRoot, id));
  const ok = await bed.until('convergence after the fix', async () => (await bed.client.convergence()).find((r) => r.dataset_id === id && r.phase === 'converged'), 20_000);
  assert.is(ok.last_error, undefined);
});

test.run();
