// Run-to-convergence: the real planner and interpreter against the real directory backend in a
// temp dir, two nodes sharing one pool, exchanging reports the way the control service would.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DirectoryBackend } from '../../src/backends/directory.js';
import { isNoop, IDLE_MS } from '../../src/converge/changes.js';
import { sharedState } from '../../src/converge/dataset-state.js';
import { execute } from '../../src/converge/execute.js';
import { plan, type Plan } from '../../src/converge/plan.js';
import type { ClusterState, NodeState } from '../../src/model/cluster-state.js';
import type { Deployment } from '../../src/model/configuration.js';
import { acquireLease, createDataset, deleteDataset, moveDataset, releaseLease } from '../../src/model/deployment.js';
import type { Result } from '../../src/model/errors.js';
import type { NodeId } from '../../src/model/ids.js';
import { discoverLocal } from '../../src/roles/agent/discover.js';
import { A, B, D1, deployment, NOW } from './fixtures.js';

interface SimNode { id: NodeId; backend: DirectoryBackend; mountRoot: string; report?: NodeState }

const unwrap = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};

let dir = '';
let nodes: SimNode[] = [];

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flocker-converge-'));
  const pool = join(dir, 'pool');
  nodes = [A, B].map((id) => ({
    id,
    // Symlink exposure keeps this test free of mounts to clean up; the e2e tests use bind mounts.
    backend: new DirectoryBackend({ rootPath: pool, computeInstanceId: id, allocationUnit: 1, exposure: 'symlink' }),
    mountRoot: join(dir, `mnt-${id.slice(0, 8)}`),
  }));
  const { mkdir } = await import('node:fs/promises');
  await mkdir(pool);
});

test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cluster(): ClusterState {
  return { nodes: Object.fromEntries(nodes.filter((n) => n.report).map((n) => [n.id, n.report!])) };
}

async function reportOf(n: SimNode, p?: Plan): Promise<NodeState> {
  const local = await discoverLocal(n.backend, n.mountRoot);
  return {
    uuid: n.id, host: '127.0.0.1', era: 'e', lastSeen: NOW, connected: true,
    report: { ...sharedState(local), progress: (p?.progress ?? []).map((x) => ({ ...x, since: NOW })) },
  };
}

/** Where the dataset is exposed right now, by what each node's mount root really shows. */
async function exposedOn(): Promise<NodeId[]> {
  const out: NodeId[] = [];
  for (const n of nodes) {
    const m = await n.backend.listMounts(n.mountRoot);
    if ([...m.keys()].some((k) => k.endsWith(D1))) out.push(n.id);
  }
  return out;
}

/** One node's pass: discover → plan → execute → report. */
async function pass(n: SimNode, config: Deployment): Promise<Plan> {
  const local = await discoverLocal(n.backend, n.mountRoot);
  const p = plan({ nodeId: n.id, configuration: config, cluster: cluster(), local, mountRoot: n.mountRoot, now: NOW, allocationUnit: 1, needsFilesystem: false });
  const r = await execute(p.change, n.backend);
  assert.equal(r.failures, [], `${n.id.slice(0, 8)}: ${JSON.stringify(r.failures)}`);
  n.report = await reportOf(n, p);
  return p;
}

/** Both nodes pass in turn until neither has work (≤ 20 rounds); never exposed on both. */
async function converge(config: Deployment, order: SimNode[] = nodes): Promise<{ rounds: number; last: Plan[] }> {
  for (let round = 1; round <= 20; round++) {
    const plans: Plan[] = [];
    for (const n of order) {
      plans.push(await pass(n, config));
      assert.ok((await exposedOn()).length <= 1, `round ${round}: exposed on two nodes`);
    }
    if (plans.every((p) => isNoop(p.change) && p.change.wakeAfterMs === IDLE_MS)) return { rounds: round, last: plans };
  }
  throw new Error('did not converge in 20 rounds');
}

const createOnA = () => unwrap(createDataset(deployment([]), { datasetId: D1, primary: A, maximumSize: null, metadata: {} })).deployment;

test('create converges to mounted on the primary, reported with its path', async () => {
  const { rounds } = await converge(createOnA());
  assert.ok(rounds <= 3, `rounds ${rounds}`);
  assert.equal(await exposedOn(), [A]);
  const a = nodes[0]!.report!.report!;
  assert.equal(a.manifestations.map((m) => m.path), [join(nodes[0]!.mountRoot, D1)]);
  assert.equal(a.progress.map((p) => p.phase), ['converged']);
  assert.equal(nodes[1]!.report!.report!.manifestations, []);
});

test('move hands the data over, never exposed on both nodes, from either node passing first', async () => {
  for (const order of [[0, 1], [1, 0]]) {
    const config = createOnA();
    await converge(config);
    await writeFile(join(nodes[0]!.mountRoot, D1, 'hello.txt'), `data ${order}`);
    const moved = unwrap(moveDataset(config, D1, B)).deployment;
    await converge(moved, order.map((i) => nodes[i]!));
    assert.equal(await exposedOn(), [B]);
    assert.is(await readFile(join(nodes[1]!.mountRoot, D1, 'hello.txt'), 'utf8'), `data ${order}`);
    // Back again so the next order starts from A.
    const deleted = unwrap(deleteDataset(moved, D1)).deployment;
    await converge(deleted);
    assert.equal(await nodes[0]!.backend.listVolumes(), []);
    nodes.forEach((n) => delete n.report);
  }
});

test('a lease held by the old node holds the move until it is released', async () => {
  const config = unwrap(acquireLease(createOnA(), { datasetId: D1, nodeId: A, expiresAt: null })).deployment;
  await converge(config);
  const moved = unwrap(moveDataset(config, D1, B)).deployment;
  // It never settles while the lease holds (B polls), so run rounds and check who waits.
  for (let i = 0; i < 5; i++) {
    for (const n of nodes) {
      await pass(n, moved);
      assert.equal(await exposedOn(), [A]);
    }
  }
  assert.equal(await exposedOn(), [A]);
  assert.is(nodes[0]!.report!.report!.progress[0]!.phase, 'waiting-for-lease');
  assert.is(nodes[1]!.report!.report!.progress[0]!.phase, 'waiting-for-lease');
  assert.match(nodes[1]!.report!.report!.progress[0]!.reason, /node 1a2b3c4d holds a lease/);
  const released = unwrap(releaseLease(moved, D1)).deployment;
  await converge(released);
  assert.equal(await exposedOn(), [B]);
});

test('delete unmounts, detaches and destroys on the holder', async () => {
  const config = createOnA();
  await converge(config);
  const { rounds } = await converge(unwrap(deleteDataset(config, D1)).deployment);
  assert.ok(rounds <= 2, `rounds ${rounds}`);
  assert.equal(await nodes[0]!.backend.listVolumes(), []);
  assert.equal(await exposedOn(), []);
});

test('a dataset deleted while unattached is destroyed by its primary only', async () => {
  const config = createOnA();
  const moved = unwrap(moveDataset(config, D1, B)).deployment;
  // Created on A, then A lets go (configured away) and it is deleted before B takes it.
  await converge(config);
  await pass(nodes[0]!, moved);
  const deleted = unwrap(deleteDataset(moved, D1)).deployment;
  await pass(nodes[0]!, deleted);
  assert.is((await nodes[0]!.backend.listVolumes()).length, 1, 'A is no longer primary: it must not destroy');
  await pass(nodes[1]!, deleted);
  assert.equal(await nodes[0]!.backend.listVolumes(), []);
});

test.run();
