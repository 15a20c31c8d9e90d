// Run-to-convergence: the real planner and interpreter against the real directory backend in a
// temp dir, two nodes sharing one pool, exchanging reports the way the control service would.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DirectoryBackend } from '../../src/backends/directory.js';
import { acquireLease, createDataset, deleteDataset, moveDataset, releaseLease } from '../../src/model/deployment.js';
import { A, B, D1, deployment } from './fixtures.js';
import { Sim, unwrap } from './sim.js';

let dir = '';
let sim: Sim;

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flocker-converge-'));
  const pool = join(dir, 'pool');
  await mkdir(pool);
  sim = new Sim([A, B].map((id) => ({
    id,
    // Symlink exposure keeps this test free of mounts to clean up; the e2e tests use bind mounts.
    backend: new DirectoryBackend({ rootPath: pool, computeInstanceId: id, allocationUnit: 1, exposure: 'symlink' }),
    mountRoot: join(dir, `mnt-${id.slice(0, 8)}`),
  })), D1);
});

test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

const node = (i: number) => sim.nodes[i]!;
const createOnA = () => unwrap(createDataset(deployment([]), { datasetId: D1, primary: A, maximumSize: null, metadata: {} })).deployment;

test('create converges to mounted on the primary, reported with its path', async () => {
  const { rounds } = await sim.converge(createOnA());
  assert.ok(rounds <= 3, `rounds ${rounds}`);
  assert.equal(await sim.exposedOn(), [A]);
  const a = node(0).report!.report!;
  assert.equal(a.manifestations.map((m) => m.path), [join(node(0).mountRoot, D1)]);
  assert.equal(a.progress.map((p) => p.phase), ['converged']);
  assert.equal(node(1).report!.report!.manifestations, []);
});

test('move hands the data over, never exposed on both nodes, from either node passing first', async () => {
  for (const order of [[0, 1], [1, 0]]) {
    const config = createOnA();
    await sim.converge(config);
    await writeFile(join(node(0).mountRoot, D1, 'hello.txt'), `data ${order}`);
    const moved = unwrap(moveDataset(config, D1, B)).deployment;
    await sim.converge(moved, order.map(node));
    assert.equal(await sim.exposedOn(), [B]);
    assert.is(await readFile(join(node(1).mountRoot, D1, 'hello.txt'), 'utf8'), `data ${order}`);
    // Delete so the next order starts afresh.
    await sim.converge(unwrap(deleteDataset(moved, D1)).deployment);
    assert.equal(await node(0).backend.listVolumes(), []);
    sim.forget();
  }
});

test('a lease held by the old node holds the move until it is released', async () => {
  const config = unwrap(acquireLease(createOnA(), { datasetId: D1, nodeId: A, expiresAt: null })).deployment;
  await sim.converge(config);
  const moved = unwrap(moveDataset(config, D1, B)).deployment;
  // It never settles while the lease holds (B polls), so run rounds and check who waits.
  for (let i = 0; i < 5; i++) {
    for (const n of sim.nodes) {
      await sim.pass(n, moved);
      assert.equal(await sim.exposedOn(), [A]);
    }
  }
  assert.is(node(0).report!.report!.progress[0]!.phase, 'waiting-for-lease');
  assert.is(node(1).report!.report!.progress[0]!.phase, 'waiting-for-lease');
  assert.match(node(1).report!.report!.progress[0]!.reason, /node 1a2b3c4d holds a lease/);
  await sim.converge(unwrap(releaseLease(moved, D1)).deployment);
  assert.equal(await sim.exposedOn(), [B]);
});

test('delete unmounts, detaches and destroys on the holder', async () => {
  const config = createOnA();
  await sim.converge(config);
  const { rounds } = await sim.converge(unwrap(deleteDataset(config, D1)).deployment);
  assert.ok(rounds <= 2, `rounds ${rounds}`);
  assert.equal(await node(0).backend.listVolumes(), []);
  assert.equal(await sim.exposedOn(), []);
});

test('a dataset deleted while unattached is destroyed by its primary only', async () => {
  const config = createOnA();
  const moved = unwrap(moveDataset(config, D1, B)).deployment;
  await sim.converge(config);
  await sim.pass(node(0), moved); // A lets go; B has not taken it yet
  const deleted = unwrap(deleteDataset(moved, D1)).deployment;
  await sim.pass(node(0), deleted);
  assert.is((await node(0).backend.listVolumes()).length, 1, 'A is no longer primary: it must not destroy');
  await sim.pass(node(1), deleted);
  assert.equal(await node(0).backend.listVolumes(), []);
});

test('a stray exposure left behind (e.g. by a crash) is removed before the new holder mounts', async () => {
  const config = createOnA();
  await sim.converge(config);
  // Simulate A crashing after a detach that skipped the unmount: the symlink survives.
  const [v] = await node(0).backend.listVolumes();
  const { symlink } = await import('node:fs/promises');
  await node(0).backend.unmount(join(node(0).mountRoot, D1));
  await node(0).backend.detachVolume(v!.volumeId);
  await symlink(join(dir, 'pool', 'volumes', v!.volumeId, 'data'), join(node(0).mountRoot, D1));
  const moved = unwrap(moveDataset(config, D1, B)).deployment;
  await sim.pass(node(0), moved);
  assert.equal(await sim.exposedOn(), []);
  await sim.converge(moved);
  assert.equal(await sim.exposedOn(), [B]);
});

test.run();
