// The p2p backend on real btrfs pools, loop devices and ext4: the shared contract (with private
// pools), and what is its own: size enforcement, hand-off, reopening a pool, clear pool errors.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BackendError } from '../../src/backends/backend.js';
import { createBackend } from '../../src/backends/index.js';
import { P2PBackend } from '../../src/backends/p2p/backend.js';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { asDatasetId, asNodeId } from '../../src/model/ids.js';
import { detachLoop, listLoops } from '../../src/sys/losetup.js';
import { listMounts, mount, umount } from '../../src/sys/mounts.js';
import { backendContract, cleanupUnder, expose, type ContractNodes } from '../contracts/backend-contract.js';
import { skipSuite } from '../support/skip.js';

const MiB = 1024 * 1024;

interface Nodes extends ContractNodes {
  readonly backend: P2PBackend;
  readonly other: P2PBackend;
  readonly dir: string;
}

async function nodes(opts: { poolFileSize?: number } = {}): Promise<Nodes> {
  const dir = await mkdtemp(join(tmpdir(), 'flocker-p2p-'));
  const mk = (id: string) =>
    new P2PBackend({ rootPath: join(dir, `root-${id}`), computeInstanceId: id, allocationUnit: MiB, ...(opts.poolFileSize ? { poolFileSize: opts.poolFileSize } : {}) });
  const backend = mk('node-a');
  return {
    dir,
    backend,
    other: mk('node-b'),
    mountRoot: join(dir, 'a'),
    otherMountRoot: join(dir, 'b'),
    sharedPool: false,
    attachSurvivesReboot: false,
    // A reboot drops every mount and loop device, the pool's own included.
    reboot: async () => {
      for (const m of (await backend.listMounts(join(dir, 'a'))).keys()) await backend.unmount(m);
      for (const l of await listLoops()) if (l.backingFile.startsWith(`${backend.pool.dir}/`)) await detachLoop(l.device);
      await backend.pool.close();
      assert.is((await listMounts()).some((m) => m.mountPoint === backend.pool.dir), false, 'the pool is unmounted');
    },
    cleanup: () => cleanupUnder(dir),
  };
}

const root = process.getuid?.() === 0;
if (root) backendContract('p2p', () => nodes());
else skipSuite('p2p: needs root (losetup, mount, btrfs)');

async function withNodes(body: (n: Nodes) => Promise<void>, opts: { poolFileSize?: number } = {}): Promise<void> {
  if (!root) return;
  const n = await nodes(opts);
  try {
    await body(n);
  } finally {
    await n.cleanup();
  }
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => null, (x: unknown) => x);
  assert.instance(e, Error, 'expected a failure');
  return e as Error;
}

test('p2p: a dataset is ext4 of its maximum size, mounted and open to all, and the pool file is sparse', () =>
  withNodes(async (n) => {
    const d = asDatasetId(randomUUID());
    const v = await n.backend.createVolume(d, 8 * MiB);
    assert.is(v.volumeId, `p2p-${d}`);
    const a = await n.backend.attachVolume(v.volumeId, n.backend.computeInstanceId());
    assert.is(a.attachedTo, n.backend.computeInstanceId());
    const dev = await n.backend.devicePath(v.volumeId);
    assert.match(dev, /^\/dev\/loop\d+$/);
    assert.is(await n.backend.hasFilesystem(dev), false);
    await n.backend.createFilesystem(dev);
    const mp = join(n.mountRoot, d);
    await n.backend.mount(dev, mp);
    assert.equal(await readdir(mp), []);
    const full = await errorOf(writeFile(join(mp, 'big'), Buffer.alloc(9 * MiB)));
    assert.is((full as NodeJS.ErrnoException).code, 'ENOSPC', 'the size is enforced');
    assert.equal([...(await n.backend.listMounts(n.mountRoot))], [[mp, dev]]);
    assert.ok(await n.backend.pool.isExposed(d));
    const manifest = JSON.parse(await readFile(join(n.backend.pool.liveDir(d), 'manifest.json'), 'utf8')) as unknown;
    assert.equal(manifest, { dataset_id: d, maximum_size: 8 * MiB, metadata: {} }, 'the same JSON as shared pools keep');
    const stray = await errorOf(n.backend.attachVolume(v.volumeId, 'someone-else'));
    assert.match(stray.message, 'private pool');
  }));

test('p2p: a handed-off copy is no volume, cannot be attached or mounted, and is destroyed by destroyAll', () =>
  withNodes(async (n) => {
    const d = asDatasetId(randomUUID());
    const v = await n.backend.createVolume(d, 16 * MiB);
    await expose(n.backend, n.mountRoot, v.volumeId, d);
    const snap = await n.backend.pool.snapshot(d);
    const busy = await errorOf(n.backend.pool.markHandedOff(d, 'node-b', snap));
    assert.ok(busy instanceof BackendError && busy.code === 'already-attached', 'an exposed copy cannot be handed off');
    await n.backend.unmount(join(n.mountRoot, d));
    await n.backend.detachVolume(v.volumeId);
    await n.backend.pool.markHandedOff(d, 'node-b', snap);
    assert.equal(await n.backend.pool.handedOff(d), { to: 'node-b', snapshot: snap });
    assert.equal(await n.backend.listVolumes(), []);
    const refused = await errorOf(n.backend.attachVolume(v.volumeId, n.backend.computeInstanceId()));
    assert.ok(refused instanceof BackendError && refused.code === 'unknown-volume');
    assert.match(refused.message, 'handed off to node-b');
    // Even a loop device made behind the backend's back is never mounted.
    const { attachLoop } = await import('../../src/sys/losetup.js');
    const sneaky = await attachLoop(n.backend.pool.imagePath(d));
    const m = await errorOf(n.backend.mount(sneaky, join(n.mountRoot, d)));
    assert.match(m.message, 'not the loop device of a volume attached here');
    await detachLoop(sneaky);
    const held = (await n.backend.pool.inventory()).get(d);
    assert.equal(held, { live: true, handedOff: { to: 'node-b', snapshot: snap }, received: [], local: [snap] });
    await n.backend.pool.destroyAll(d);
    assert.equal((await n.backend.pool.inventory()).size, 0);
  }));

test('p2p: destroyVolume removes the live copy and every snapshot of the dataset', () =>
  withNodes(async (n) => {
    const d = asDatasetId(randomUUID());
    const keep = asDatasetId(randomUUID());
    const v = await n.backend.createVolume(d, 16 * MiB);
    await n.backend.createVolume(keep, 16 * MiB);
    await n.backend.pool.snapshot(d);
    await n.backend.pool.snapshot(d);
    await mkdir(join(n.backend.pool.spoolDir, `${d}.part`));
    await n.backend.destroyVolume(v.volumeId);
    assert.equal([...(await n.backend.pool.inventory()).keys()], [keep]);
    for (const sub of ['live', 'snap', 'recv', 'handed-off', 'spool']) {
      assert.ok(!(await readdir(join(n.backend.pool.dir, sub))).some((x) => x.includes(d)), `nothing of ${d} in ${sub}/`);
    }
  }));

test('p2p: the pool is found again after an agent restart and after its file was unmounted (reboot)', () =>
  withNodes(async (n) => {
    const d = asDatasetId(randomUUID());
    const v = await n.backend.createVolume(d, 16 * MiB);
    const poolMounts = async () => (await listMounts()).filter((m) => m.mountPoint === n.backend.pool.dir);
    assert.is((await poolMounts()).length, 1);
    // A restarted agent: a new backend object on the same root reuses the mounted pool.
    const restarted = new P2PBackend({ rootPath: join(n.dir, 'root-node-a'), computeInstanceId: 'node-a', allocationUnit: MiB });
    assert.equal(await restarted.listVolumes(), [v]);
    assert.is((await poolMounts()).length, 1, 'not mounted twice');
    // A reboot: the pool file is unmounted and its loop device gone; the running object notices.
    await n.backend.pool.close();
    assert.is((await poolMounts()).length, 0);
    assert.equal(await n.backend.listVolumes(), [v]);
    assert.is((await poolMounts()).length, 1);
    assert.is((await poolMounts())[0]?.fsType, 'btrfs');
  }));

test('p2p: root_path on btrfs is used as it is, without a pool file', () =>
  withNodes(async (n) => {
    await n.backend.listVolumes();
    const nested = new P2PBackend({ rootPath: join(n.backend.pool.dir, 'spool', 'nested'), computeInstanceId: 'node-c', allocationUnit: MiB });
    const d = asDatasetId(randomUUID());
    await nested.createVolume(d, 16 * MiB);
    assert.is((await nested.listVolumes()).length, 1);
    assert.ok(!(await readdir(join(n.backend.pool.dir, 'spool', 'nested'))).includes('pool.btrfs'));
    assert.ok((await nested.pool.freeBytes()) > 0);
    await nested.pool.destroyAll(d);
  }));

test('p2p: pool errors say what is wrong with root_path', () =>
  withNodes(async (n) => {
    const missing = new P2PBackend({ rootPath: join(n.dir, 'no', 'such', 'root'), computeInstanceId: 'x', allocationUnit: MiB });
    const e1 = await errorOf(missing.listVolumes());
    assert.ok(e1 instanceof BackendError && e1.code === 'pool-unusable');
    assert.match(e1.message, `its parent ${join(n.dir, 'no', 'such')} does not exist`);

    await writeFile(join(n.dir, 'afile'), '');
    const e2 = await errorOf(new P2PBackend({ rootPath: join(n.dir, 'afile'), computeInstanceId: 'x', allocationUnit: MiB }).listVolumes());
    assert.match(e2.message, 'is not a directory');

    const ro = join(n.dir, 'ro');
    await mkdir(join(ro, 'root'), { recursive: true });
    await mount(ro, ro, { bind: true });
    await mount('none', ro, { options: 'remount,bind,ro' });
    try {
      const e3 = await errorOf(new P2PBackend({ rootPath: join(ro, 'root'), computeInstanceId: 'x', allocationUnit: MiB }).listVolumes());
      assert.match(e3.message, 'is not writable');
      assert.match(e3.message, 'EROFS');
    } finally {
      await umount(ro);
    }

    // Something else mounted where the pool belongs is never written through.
    const other = join(n.dir, 'squat');
    await mkdir(join(other, 'pool'), { recursive: true });
    await mount('tmpfs', join(other, 'pool'), { type: 'tmpfs', options: 'size=1m' });
    const e4 = await errorOf(new P2PBackend({ rootPath: other, computeInstanceId: 'x', allocationUnit: MiB }).listVolumes());
    assert.match(e4.message, 'tmpfs');
    assert.match(e4.message, 'where the btrfs pool belongs');

    // A root on a filesystem too small for a pool.
    const tiny = join(n.dir, 'tiny');
    await mkdir(tiny);
    await mount('tmpfs', tiny, { type: 'tmpfs', options: 'size=8m' });
    const e5 = await errorOf(new P2PBackend({ rootPath: tiny, computeInstanceId: 'x', allocationUnit: MiB }).listVolumes());
    assert.match(e5.message, `cannot make the pool file ${join(tiny, 'pool.btrfs')}`);
    assert.equal(await readdir(tiny), ['pool'], 'no half-made pool file left');
  }));

test('p2p: a full pool refuses with a clear error and keeps what it had', () =>
  withNodes(async (n) => {
    const d = asDatasetId(randomUUID());
    const v = await n.backend.createVolume(d, 512 * MiB);
    const mp = await expose(n.backend, n.mountRoot, v.volumeId, d);
    await writeFile(join(mp, 'a'), Buffer.alloc(40 * MiB, 1));
    await n.backend.unmount(mp);
    await n.backend.detachVolume(v.volumeId);
    const s = await n.backend.pool.snapshot(d);
    const stream = join(n.dir, 'full.stream');
    await n.backend.pool.sendToFile(d, s, null, stream);
    const free = await n.other.pool.freeBytes();
    assert.ok(free > 0 && free < 200 * MiB, `a 256 MiB pool has ${free} bytes free`);
    // Fill the other pool, then receive into it: refused as full, with nothing half-received left.
    const filler = asDatasetId(randomUUID());
    await n.other.createVolume(filler, 1024 * MiB);
    await writeFile(n.other.pool.imagePath(filler), Buffer.alloc(Math.max(free - 20 * MiB, MiB), 2)).catch(() => undefined);
    const e = await errorOf(n.other.pool.receiveFile(d, stream));
    assert.ok(e instanceof BackendError && e.code === 'pool-unusable', String(e));
    assert.match(e.message, 'is full');
    assert.equal((await n.other.pool.snapshots(d)).received, []);
    assert.equal((await n.other.listVolumes()).map((x) => x.datasetId), [filler]);
  }, { poolFileSize: 256 * MiB }));

test('p2p: agent.yml accepts backend p2p and dataset.transfer, with defaults', () => {
  const base = (extra: string) => `version: 1\ncontrol-service: {hostname: h}\ndataset: {backend: p2p, root_path: /r${extra}}\n`;
  const c = parseAgentConfig(base(''), '/etc/flocker/agent.yml');
  assert.is(c.dataset.backend, 'p2p');
  assert.equal(c.dataset.transfer, { port: 4526, listen: '0.0.0.0' });
  const c2 = parseAgentConfig(base(', transfer: {port: 5000, listen: 10.0.0.2}'), '/etc/flocker/agent.yml');
  assert.equal(c2.dataset.transfer, { port: 5000, listen: '10.0.0.2' });
  assert.throws(() => parseAgentConfig(base(', transfer: {port: 0}'), '/a.yml'), /dataset\.transfer\.port: must be an integer from 1 to 65535/);
  assert.throws(() => parseAgentConfig(base(', transfer: {prot: 1}'), '/a.yml'), /dataset\.transfer\.prot: unknown key/);
  assert.throws(() => parseAgentConfig(base(', transfer: 4526'), '/a.yml'), /dataset\.transfer: must be a mapping/);
  const b = createBackend(c.dataset, asNodeId(randomUUID()));
  assert.instance(b, P2PBackend);
});

test.run();
