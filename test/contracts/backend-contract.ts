// The one contract every StorageBackend passes (as Flocker's make_iblockdeviceapi_tests):
// a test file supplies a factory for two nodes, and this suite drives them. Two nodes share one
// pool (directory, loopback) unless the backend's pool is private to its node (p2p): then the
// other node must never see, attach or expose this node's volumes.
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite as makeSuite } from 'uvu';
import * as assert from 'uvu/assert';
import { BackendError, type BackendErrorCode, type StorageBackend, type Volume } from '../../src/backends/backend.js';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { detachLoop, listLoops } from '../../src/sys/losetup.js';
import { listMounts, umount } from '../../src/sys/mounts.js';
import { run } from '../../src/sys/run.js';

export interface ContractNodes {
  /** This node, and a second node (on the same pool unless sharedPool is false) with its own mount root. */
  readonly backend: StorageBackend;
  readonly other: StorageBackend;
  readonly mountRoot: string;
  readonly otherMountRoot: string;
  /** Drop what a reboot drops (mounts, loop devices), keeping the pool. */
  readonly reboot?: () => Promise<void>;
  /** false: each node has its own private pool (p2p). Default true. */
  readonly sharedPool?: boolean;
  /** false: "attached" is only a loop device, so a reboot leaves volumes unattached (p2p). Default true. */
  readonly attachSurvivesReboot?: boolean;
  cleanup(): Promise<void>;
}

/** Size used by the suite: big enough for ext4, sparse so it costs nothing. */
const SIZE = 32 * 1024 * 1024;

async function rejects(p: Promise<unknown>, code: BackendErrorCode): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BackendError && e.code === code) return e;
    assert.unreachable(`expected BackendError ${code}, got ${String(e)}`);
  }
  assert.unreachable(`expected BackendError ${code}, but it succeeded`);
  throw new Error('unreachable');
}

/** Attach here, make a filesystem if needed, and expose it at mountRoot/<dataset_id>. */
export async function expose(b: StorageBackend, root: string, volumeId: string, datasetId: DatasetId): Promise<string> {
  await b.attachVolume(volumeId, b.computeInstanceId());
  const dev = await b.devicePath(volumeId);
  if (!(await b.hasFilesystem(dev))) await b.createFilesystem(dev);
  const mp = join(root, datasetId);
  await b.mount(dev, mp);
  return mp;
}

export function backendContract(name: string, make: () => Promise<ContractNodes>): void {
  const suite = makeSuite(name);
  let n: ContractNodes;
  const ds = (): DatasetId => asDatasetId(randomUUID());
  const shared = (): boolean => n.sharedPool !== false;
  /** What the other node lists of this node's volumes: all of them on a shared pool, none on a private one. */
  const seenByOther = (vs: readonly Volume[]): readonly Volume[] => (shared() ? vs : []);
  /** How the other node is refused a volume held here. */
  const otherRefusal = (): BackendErrorCode => (shared() ? 'already-attached' : 'unknown-volume');

  suite.before.each(async () => {
    n = await make();
  });
  suite.after.each(async () => {
    await n.cleanup();
  });

  suite(`${name}: create, list and destroy`, async () => {
    const d = ds();
    assert.equal(await n.backend.listVolumes(), []);
    const v = await n.backend.createVolume(d, SIZE);
    assert.is(v.datasetId, d);
    assert.is(v.attachedTo, null);
    assert.is(v.size, SIZE);
    assert.equal(await n.backend.listVolumes(), [v]);
    assert.equal(await n.other.listVolumes(), seenByOther([v]), shared() ? 'the other node sees the same pool' : 'a private pool is seen by nobody else');
    await rejects(n.backend.createVolume(d, SIZE), 'already-exists');
    await n.backend.destroyVolume(v.volumeId);
    assert.equal(await n.backend.listVolumes(), []);
    await rejects(n.backend.destroyVolume(v.volumeId), 'unknown-volume');
  });

  suite(`${name}: a dataset's volume destroyed and made again is read afresh, by both nodes`, async () => {
    const d = ds();
    const first = await n.backend.createVolume(d, SIZE);
    assert.is((await n.backend.listVolumes())[0]?.size, first.size);
    if (shared()) assert.is((await n.other.listVolumes())[0]?.size, first.size);
    await n.backend.destroyVolume(first.volumeId);
    const again = await n.backend.createVolume(d, 2 * SIZE);
    assert.ok(again.size > first.size);
    assert.equal(await n.backend.listVolumes(), [again]);
    assert.equal(await n.other.listVolumes(), seenByOther([again]));
    await n.backend.destroyVolume(again.volumeId);
  });

  suite(`${name}: sizes are rounded up to the allocation unit`, async () => {
    const unit = n.backend.allocationUnit();
    const v = await n.backend.createVolume(ds(), SIZE + 1);
    assert.is(v.size, Math.ceil((SIZE + 1) / unit) * unit);
    assert.ok(v.size >= SIZE + 1);
    assert.is((await (shared() ? n.other : n.backend).listVolumes())[0]?.size, v.size);
  });

  suite(`${name}: unknown volumes are refused by every operation`, async () => {
    const bogus = (await n.backend.createVolume(ds(), SIZE)).volumeId.slice(0, -36) + randomUUID();
    await rejects(n.backend.attachVolume(bogus, n.backend.computeInstanceId()), 'unknown-volume');
    await rejects(n.backend.detachVolume(bogus), 'unknown-volume');
    await rejects(n.backend.destroyVolume(bogus), 'unknown-volume');
    await rejects(n.backend.devicePath(bogus), 'unknown-volume');
    await rejects(n.backend.destroyVolume('../../etc'), 'unknown-volume');
  });

  suite(`${name}: attach is exclusive between nodes and idempotent on one`, async () => {
    const v = await n.backend.createVolume(ds(), SIZE);
    const me = n.backend.computeInstanceId();
    assert.is.not(me, n.other.computeInstanceId());
    const a = await n.backend.attachVolume(v.volumeId, me);
    assert.is(a.attachedTo, me);
    assert.is((await n.backend.attachVolume(v.volumeId, me)).attachedTo, me, 're-attach is a no-op');
    const dev = await n.backend.devicePath(v.volumeId);
    assert.is(await n.backend.devicePath(v.volumeId), dev, 'one device, not two');
    const listed = (await n.backend.listVolumes()).find((x) => x.volumeId === v.volumeId);
    if (listed?.device !== undefined) assert.is(listed.device, dev, 'a listing that names the device names the same one');
    assert.ok((await n.other.listVolumes()).every((x) => x.device === undefined), 'no device is named to a node the volume is not attached to');
    const err = await rejects(n.other.attachVolume(v.volumeId, n.other.computeInstanceId()), otherRefusal());
    if (shared()) assert.match(err.message, me);
    await rejects(n.other.devicePath(v.volumeId), otherRefusal());
    assert.equal((await n.other.listVolumes()).map((x) => x.attachedTo), seenByOther([a]).map(() => me));
    await rejects(n.backend.destroyVolume(v.volumeId), 'already-attached');
    await n.backend.detachVolume(v.volumeId);
    await rejects(n.backend.detachVolume(v.volumeId), 'unattached');
    await rejects(n.backend.devicePath(v.volumeId), 'unattached');
    assert.is((await n.backend.listVolumes())[0]?.attachedTo, null);
  });

  suite(`${name}: two nodes racing to attach: exactly one wins`, async () => {
    const v = await n.backend.createVolume(ds(), SIZE);
    const results = await Promise.allSettled([
      n.backend.attachVolume(v.volumeId, n.backend.computeInstanceId()),
      n.other.attachVolume(v.volumeId, n.other.computeInstanceId()),
    ]);
    assert.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    const [a, b] = await Promise.all([n.backend.devicePath(v.volumeId), n.backend.devicePath(v.volumeId)].map((p) => p.catch(() => 'x')));
    assert.is(a, b, 'concurrent devicePath calls agree');
    const lost = results.find((r) => r.status === 'rejected');
    assert.ok(lost?.status === 'rejected' && lost.reason instanceof BackendError && lost.reason.code === otherRefusal());
  });

  suite(`${name}: mount and unmount are idempotent and listed`, async () => {
    const d = ds();
    const v = await n.backend.createVolume(d, SIZE);
    const mp = await expose(n.backend, n.mountRoot, v.volumeId, d);
    const dev = await n.backend.devicePath(v.volumeId);
    await n.backend.mount(dev, mp);
    assert.equal([...(await n.backend.listMounts(n.mountRoot))], [[mp, dev]]);
    assert.equal([...(await n.other.listMounts(n.otherMountRoot))], []);
    await writeFile(join(mp, 'hello'), 'world');
    const busy = await n.backend.detachVolume(v.volumeId).then(() => null, (e: unknown) => e);
    assert.match(String(busy), 'unmount it', 'a volume exposed here cannot be detached');
    assert.equal((await n.other.listVolumes()).map((x) => x.attachedTo), seenByOther([v]).map(() => n.backend.computeInstanceId()));
    await n.backend.unmount(mp);
    await n.backend.unmount(mp);
    await n.backend.unmount(join(n.mountRoot, 'never-mounted'));
    assert.equal([...(await n.backend.listMounts(n.mountRoot))], []);
    await rejects(n.backend.destroyVolume(v.volumeId), 'already-attached');
  });

  suite(`${name}: a move keeps every byte`, async () => {
    const d = ds();
    const v = await n.backend.createVolume(d, SIZE);
    const mp = await expose(n.backend, n.mountRoot, v.volumeId, d);
    const bytes = Buffer.alloc(1024 * 1024 + 7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
    await mkdir(join(mp, 'sub'));
    await writeFile(join(mp, 'sub', 'blob'), bytes);
    await n.backend.unmount(mp);
    await n.backend.detachVolume(v.volumeId);
    const dev = await n.backend.attachVolume(v.volumeId, n.backend.computeInstanceId()).then(() => n.backend.devicePath(v.volumeId));
    await n.backend.detachVolume(v.volumeId);
    if (!shared()) {
      // A private pool moves data by transfer (its own suite); here: the other node cannot take
      // it, a detached device cannot be exposed, and re-attaching here keeps every byte.
      await rejects(n.other.attachVolume(v.volumeId, n.other.computeInstanceId()), 'unknown-volume');
      const stale = await n.backend.mount(dev, join(n.mountRoot, 'stale')).then(() => null, (e: unknown) => e);
      assert.instance(stale, Error, 'exposing a detached device is refused');
      const again = await expose(n.backend, n.mountRoot, v.volumeId, d);
      assert.ok(Buffer.compare(await readFile(join(again, 'sub', 'blob')), bytes) === 0, 'bytes identical after detach and attach');
      await n.backend.unmount(again);
      await n.backend.detachVolume(v.volumeId);
      await n.backend.destroyVolume(v.volumeId);
      assert.equal(await n.backend.listVolumes(), []);
      return;
    }
    const mp2 = await expose(n.other, n.otherMountRoot, v.volumeId, d);
    // This node still knows the device path, but must not be able to expose what it gave away.
    const stolen = await n.backend.mount(dev, join(n.mountRoot, 'stolen')).then(() => null, (e: unknown) => e);
    assert.instance(stolen, Error, 'exposing a volume attached elsewhere is refused');
    assert.ok(Buffer.compare(await readFile(join(mp2, 'sub', 'blob')), bytes) === 0, 'bytes identical after the move');
    await rejects(n.backend.attachVolume(v.volumeId, n.backend.computeInstanceId()), 'already-attached');
    await n.other.unmount(mp2);
    await n.other.detachVolume(v.volumeId);
    await n.backend.destroyVolume(v.volumeId);
    assert.equal(await n.other.listVolumes(), []);
  });

  suite(`${name}: recovers half-done states`, async () => {
    const d = ds();
    const v = await n.backend.createVolume(d, SIZE);
    // A mount point left behind as an empty directory.
    await mkdir(join(n.mountRoot, d), { recursive: true });
    const mp = await expose(n.backend, n.mountRoot, v.volumeId, d);
    await writeFile(join(mp, 'kept'), 'yes');
    if (n.reboot) {
      await n.reboot();
      // Still attached in the pool, but mounts (and for loopback the loop device) are gone.
      const expected = n.attachSurvivesReboot === false ? null : n.backend.computeInstanceId();
      assert.is((await n.backend.listVolumes())[0]?.attachedTo, expected);
      const again = await expose(n.backend, n.mountRoot, v.volumeId, d);
      assert.is(await readFile(join(again, 'kept'), 'utf8'), 'yes');
      assert.equal([...(await n.backend.listMounts(n.mountRoot))], [[again, await n.backend.devicePath(v.volumeId)]]);
    }
    // Unmounted but still attached: detach and destroy finish the job.
    await n.backend.unmount(mp);
    await n.backend.detachVolume(v.volumeId);
    await n.backend.destroyVolume(v.volumeId);
    assert.equal(await n.backend.listVolumes(), []);
  });

  suite.run();
}

/**
 * Undo whatever the suite left under `dir`: mounts (deepest first), loop devices backed by files
 * there, then the files. Runs even after failures, so nothing leaks from a broken test.
 */
export async function cleanupUnder(dir: string): Promise<void> {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  // Stacked storage (p2p: ext4 images on loop devices inside a loop-mounted btrfs pool) holds the
  // layer below busy until the layer above is gone, and a detached loop device lingers while udev
  // still probes it; so repeat until nothing is left, within a deadline.
  const started = Date.now();
  for (;;) {
    const mounts = (await listMounts()).filter((m) => m.mountPoint.startsWith(prefix)).reverse();
    const loops = process.getuid?.() === 0 ? (await listLoops().catch(() => [])).filter((x) => x.backingFile.startsWith(prefix)) : [];
    if ((mounts.length === 0 && loops.length === 0) || Date.now() - started > 20_000) break;
    // Still busy after a while (a mount namespace made meanwhile by a parallel test may hold a
    // copy): detach lazily, so the tree goes now and the filesystem when its last user does.
    const lazy = Date.now() - started > 5_000;
    for (const m of mounts) await (lazy ? run('umount', ['-l', m.mountPoint]) : umount(m.mountPoint)).catch(() => undefined);
    for (const l of loops) await detachLoop(l.device).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
  }
  await rm(dir, { recursive: true, force: true });
}

/** True if `path` is a symlink; lets tests see which exposure a backend used. */
export async function isSymlink(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isSymbolicLink() ?? false;
}
