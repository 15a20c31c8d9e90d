import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BackendError } from '../../src/backends/backend.js';
import { DirectoryBackend, type Exposure } from '../../src/backends/directory.js';
import { createBackend } from '../../src/backends/index.js';
import { LoopbackBackend } from '../../src/backends/loopback.js';
import { UserError } from '../../src/errors.js';
import { asDatasetId, asNodeId } from '../../src/model/ids.js';
import { backendContract, cleanupUnder, isSymlink, type ContractNodes } from '../contracts/backend-contract.js';
import { skipSuite } from '../support/skip.js';

async function nodes(exposure: Exposure): Promise<ContractNodes> {
  const dir = await mkdtemp(join(tmpdir(), 'flocker-dir-'));
  const mk = (id: string) => new DirectoryBackend({ rootPath: join(dir, 'pool'), computeInstanceId: id, allocationUnit: 4096, exposure });
  await mkdir(join(dir, 'pool'));
  const backend = mk('node-a');
  return {
    backend,
    other: mk('node-b'),
    mountRoot: join(dir, 'a'),
    otherMountRoot: join(dir, 'b'),
    reboot: async () => {
      for (const m of (await backend.listMounts(join(dir, 'a'))).keys()) if (!(await isSymlink(m))) await backend.unmount(m);
    },
    cleanup: () => cleanupUnder(dir),
  };
}

backendContract('directory (symlink)', () => nodes('symlink'));
if (process.getuid?.() === 0) backendContract('directory (bind mount)', () => nodes('bind'));
else skipSuite('directory (bind mount): needs root');

test('a missing pool is refused with a message naming the path and the fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flocker-dir-'));
  try {
    const b = new DirectoryBackend({ rootPath: join(dir, 'nope'), computeInstanceId: 'x', allocationUnit: 1 });
    const e = await b.createVolume(asDatasetId('7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f'), 1).catch((x: unknown) => x);
    assert.ok(e instanceof BackendError && e.code === 'pool-unusable');
    assert.match(e.message, join(dir, 'nope'));
    assert.match(e.message, 'mkdir -p');
  } finally {
    await cleanupUnder(dir);
  }
});

test('a pool that goes away after use is named as the problem by the next step, not the volume', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flocker-dir-'));
  try {
    await mkdir(join(dir, 'pool'));
    const b = new DirectoryBackend({ rootPath: join(dir, 'pool'), computeInstanceId: 'x', allocationUnit: 1 });
    const v = await b.createVolume(asDatasetId('7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f'), 1);
    await rm(join(dir, 'pool'), { recursive: true });
    for (const step of [() => b.listVolumes(), () => b.attachVolume(v.volumeId, 'x'), () => b.createVolume(asDatasetId('8f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f'), 1)]) {
      const e = await step().catch((x: unknown) => x);
      assert.ok(e instanceof BackendError && e.code === 'pool-unusable', String(e));
      assert.match(e.message, `storage pool ${join(dir, 'pool')} does not exist`);
    }
  } finally {
    await cleanupUnder(dir);
  }
});

test('a pool that is a file is refused; an unsafe compute instance id is a user error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flocker-dir-'));
  try {
    await writeFile(join(dir, 'file'), '');
    const b = new DirectoryBackend({ rootPath: join(dir, 'file'), computeInstanceId: 'x', allocationUnit: 1 });
    const e = await b.listVolumes().catch((x: unknown) => x);
    assert.ok(e instanceof BackendError && e.code === 'pool-unusable' && /not a directory/.test(e.message), String(e));
    const cfg = { backend: 'directory', rootPath: dir, mountRoot: dir, allocationUnit: 1, computeInstanceId: '../x' } as const;
    assert.throws(() => createBackend(cfg, asNodeId('n')), (x: unknown) => x instanceof UserError && /compute_instance_id/.test(x.message));
  } finally {
    await cleanupUnder(dir);
  }
});

test('createBackend picks the backend and defaults the compute instance id to the node UUID', () => {
  const cfg = { backend: 'directory', rootPath: '/p', mountRoot: '/m', allocationUnit: 1 } as const;
  const node = asNodeId('7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f');
  const b = createBackend(cfg, node);
  assert.instance(b, DirectoryBackend);
  assert.is(b.computeInstanceId(), node);
  assert.is(createBackend({ ...cfg, computeInstanceId: 'i-1' }, node).computeInstanceId(), 'i-1');
  assert.instance(createBackend({ ...cfg, backend: 'loopback' }, node), LoopbackBackend);
});

test.run();
