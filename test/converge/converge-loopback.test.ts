// Run-to-convergence on the loopback backend (root only): create makes ext4 once, a move keeps
// the data and never runs mkfs again, delete leaves no loop device behind.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LoopbackBackend } from '../../src/backends/loopback.js';
import { createDataset, deleteDataset, moveDataset } from '../../src/model/deployment.js';
import { listLoops } from '../../src/sys/losetup.js';
import { cleanupUnder } from '../contracts/backend-contract.js';
import { A, B, D1, deployment } from './fixtures.js';
import { Sim, unwrap } from './sim.js';
import { skipTest } from '../support/skip.js';

const root = process.getuid?.() === 0;
let dir = '';
let sim: Sim;

test.before(async () => {
  if (!root) return;
  dir = await mkdtemp(join(tmpdir(), 'flocker-converge-loop-'));
  sim = new Sim([A, B].map((id) => ({
    id,
    backend: new LoopbackBackend({ rootPath: join(dir, 'pool'), computeInstanceId: id, allocationUnit: 1024 * 1024 }),
    mountRoot: join(dir, `mnt-${id.slice(0, 8)}`),
  })), D1);
});

test.after(async () => {
  if (root) await cleanupUnder(dir);
});

test('loopback: create → mkfs → mount, move with data, delete leaves no loop device', async () => {
  if (!root) {
    skipTest('loopback needs root');
    return;
  }
  const config = unwrap(createDataset(deployment([]), { datasetId: D1, primary: A, maximumSize: 64 * 1024 * 1024, metadata: {} })).deployment;
  const { rounds } = await sim.converge(config);
  assert.ok(rounds <= 4, `rounds ${rounds}`);
  assert.equal(await sim.exposedOn(), [A]);
  await writeFile(join(sim.nodes[0]!.mountRoot, D1, 'f.txt'), 'on ext4');
  const moved = unwrap(moveDataset(config, D1, B)).deployment;
  const m = await sim.converge(moved);
  assert.ok(m.rounds <= 4, `rounds ${m.rounds}`);
  assert.equal(await sim.exposedOn(), [B]);
  assert.is(await readFile(join(sim.nodes[1]!.mountRoot, D1, 'f.txt'), 'utf8'), 'on ext4');
  await sim.converge(unwrap(deleteDataset(moved, D1)).deployment);
  assert.equal(await sim.nodes[0]!.backend.listVolumes(), []);
  assert.equal((await listLoops()).filter((l) => l.backingFile.startsWith(dir + '/')), []);
});

test.run();
