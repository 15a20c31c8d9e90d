// The pool as the transfer layer uses it, on two real pools (two nodes' roots): pre-copy while
// mounted, incremental final copy, receive, promote, mount the copy elsewhere — bytes identical.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { P2PBackend } from '../../src/backends/p2p/backend.js';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { parseStreamHead, sendToStream } from '../../src/sys/btrfs.js';
import { cleanupUnder, expose } from '../contracts/backend-contract.js';

const MiB = 1024 * 1024;
const root = process.getuid?.() === 0;

interface Two {
  readonly dir: string;
  readonly a: P2PBackend;
  readonly b: P2PBackend;
}

async function withTwo(body: (t: Two) => Promise<void>): Promise<void> {
  if (!root) return;
  const dir = await mkdtemp(join(tmpdir(), 'flocker-p2pp-'));
  const mk = (id: string) => new P2PBackend({ rootPath: join(dir, id), computeInstanceId: id, allocationUnit: MiB });
  try {
    await body({ dir, a: mk('node-a'), b: mk('node-b') });
  } finally {
    await cleanupUnder(dir);
  }
}

/** Attach, make ext4 if new, mount at <dir>/mnt-<node>/<id>. */
function exposeOn(b: P2PBackend, dir: string, d: DatasetId): Promise<string> {
  return expose(b, join(dir, `mnt-${b.computeInstanceId()}`), `p2p-${d}`, d);
}

async function conceal(b: P2PBackend, mp: string, d: DatasetId): Promise<void> {
  await b.unmount(mp);
  await b.detachVolume(`p2p-${d}`);
}

async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of (await readdir(dir)).sort()) out[n] = createHash('sha256').update(await readFile(join(dir, n))).digest('hex');
  return out;
}

test('p2p pool: pre-copy while mounted, incremental final copy, promote and mount on the other node', () =>
  withTwo(async ({ dir, a, b }) => {
    const d = asDatasetId(randomUUID());
    await a.createVolume(d, 256 * MiB);
    assert.equal(await a.pool.manifests.read(d), { datasetId: d, maximumSize: 256 * MiB, metadata: {} }, 'a new copy has a manifest at once');
    await a.pool.manifests.write({ datasetId: d, maximumSize: 256 * MiB, metadata: { name: 'moved' } });
    const mpA = await exposeOn(a, dir, d);
    await writeFile(join(mpA, 'one'), randomBytes(20 * MiB));
    await writeFile(join(mpA, 'small'), 'hello');

    // 1. pre-copy: snapshot while mounted and in use, full stream, received by the other pool.
    const s1 = await a.pool.snapshot(d);
    assert.match(s1, /^s\d{13}-[0-9a-f]{4}$/);
    const full = join(a.pool.spoolDir, `${d}.full`);
    await a.pool.sendToFile(d, s1, null, full);
    assert.equal(parseStreamHead(await readFile(full)), { name: s1, incremental: false });
    assert.ok((await b.pool.freeBytes()) > 100 * MiB, 'the destination has room (this also opens its pool)');
    const copy = join(b.pool.spoolDir, `${d}.full`);
    await writeFile(copy, await readFile(full));
    assert.is(await b.pool.receiveFile(d, copy), s1);
    assert.is(await b.pool.receiveFile(d, copy), s1, 'receiving the same stream again is a no-op');
    assert.equal(await b.pool.snapshots(d), { local: [], received: [s1] });
    assert.equal((await b.pool.inventory()).get(d), { live: false, handedOff: null, received: [s1], local: [] });
    assert.is(await b.pool.manifests.read(d), undefined, 'a replica has no manifest to report');
    assert.equal(await b.listVolumes(), [], 'a received snapshot is no volume yet');

    // 2. more writes, then hand-off: unmount, final snapshot, marker, incremental stream.
    await appendFile(join(mpA, 'one'), randomBytes(MiB));
    await writeFile(join(mpA, 'two'), randomBytes(2 * MiB));
    const want = await digests(mpA);
    await conceal(a, mpA, d);
    assert.is(await a.pool.isExposed(d), false);
    const s2 = await a.pool.snapshot(d);
    assert.ok(s2 > s1, 'names sort by age');
    await a.pool.markHandedOff(d, 'node-b', s2);
    assert.equal(await a.listVolumes(), [], 'the handed-off copy is no volume');
    const incr = join(a.pool.spoolDir, `${d}.incr`);
    await a.pool.sendToFile(d, s2, s1, incr);
    const fullBytes = (await stat(full)).size;
    const incrBytes = (await stat(incr)).size;
    const allocated = await a.pool.allocatedBytes(d);
    assert.ok(fullBytes > 20 * MiB && fullBytes < allocated + 4 * MiB, `full stream ${fullBytes} bytes ~ allocated ${allocated}`);
    assert.ok(incrBytes > 3 * MiB && incrBytes < 8 * MiB, `incremental stream ${incrBytes} bytes for 3 MiB written`);
    assert.ok(incrBytes * 4 < fullBytes, 'the incremental stream is much smaller than the full one');

    // A pool without the parent cannot take the incremental stream, and says why.
    const c = new P2PBackend({ rootPath: join(dir, 'node-c'), computeInstanceId: 'node-c', allocationUnit: MiB });
    const orphan = await c.pool.receiveFile(d, incr).then(() => null, (e: unknown) => e);
    assert.match(String(orphan), 'parent snapshot is not in pool');
    assert.equal(await c.pool.snapshots(d), { local: [], received: [] }, 'nothing half-received is left');

    // 3. the destination receives, promotes and mounts: the same bytes.
    const s2got = await b.pool.receiveFile(d, incr);
    assert.is(s2got, s2);
    await b.pool.promote(d, s2);
    await b.pool.promote(d, s2);
    assert.equal(await b.pool.snapshots(d), { local: [], received: [s2] }, 'older received snapshots are gone, the newest is kept as a base');
    assert.equal((await b.listVolumes()).map((v) => [v.datasetId, v.size, v.attachedTo]), [[d, 256 * MiB, null]]);
    assert.equal(await b.pool.manifests.read(d), { datasetId: d, maximumSize: 256 * MiB, metadata: { name: 'moved' } }, 'the manifest came with the copy');
    const mpB = await exposeOn(b, dir, d);
    assert.equal(await digests(mpB), want, 'files identical by sha256');
    await writeFile(join(mpB, 'after'), 'the copy is writable');
    await b.pool.promote(d, s2);
    assert.is(await readFile(join(mpB, 'after'), 'utf8'), 'the copy is writable', 'repeating promote never overwrites the live copy');

    // 4. the source destroys everything it held; the destination keeps its copy.
    await a.pool.destroyAll(d);
    assert.equal((await a.pool.inventory()).size, 0);
    for (const sub of ['live', 'snap', 'recv', 'handed-off', 'spool']) assert.equal(await readdir(join(a.pool.dir, sub)), [], `${sub}/ is empty`);
    await conceal(b, mpB, d);
    await b.pool.destroyAll(d);
    assert.equal((await b.pool.inventory()).size, 0);
  }));

test('p2p pool: a sparse 1 GiB dataset with 10% written sends about what is allocated', () =>
  withTwo(async ({ dir, a }) => {
    const d = asDatasetId(randomUUID());
    await a.createVolume(d, 1024 * MiB);
    const mp = await exposeOn(a, dir, d);
    await writeFile(join(mp, 'data'), randomBytes(100 * MiB));
    await conceal(a, mp, d);
    const s = await a.pool.snapshot(d);
    const out = join(dir, 'sparse.stream');
    await a.pool.sendToFile(d, s, null, out);
    const sent = (await stat(out)).size;
    const allocated = await a.pool.allocatedBytes(d);
    assert.ok(allocated >= 100 * MiB && allocated < 140 * MiB, `allocated ${allocated}`);
    assert.ok(sent >= 100 * MiB && sent < allocated * 1.05 + MiB, `sent ${sent} bytes for ${allocated} allocated`);
    const free = await a.pool.freeBytes();
    assert.ok(free > 0, `free ${free}`);
  }));

test('p2p pool: an aborted send leaves no stream behind; bad names are refused', () =>
  withTwo(async ({ dir, a }) => {
    const d = asDatasetId(randomUUID());
    await a.createVolume(d, 64 * MiB);
    const s = await a.pool.snapshot(d);
    const out = join(dir, 'aborted.stream');
    const e = await a.pool.sendToFile(d, s, null, out, AbortSignal.abort()).then(() => null, (x: unknown) => x);
    assert.instance(e, Error);
    assert.is(await stat(out).then(() => true, () => false), false);
    assert.match(String(await a.pool.sendToFile(d, '../../etc', null, out).catch((x: unknown) => x)), 'not a snapshot name');
    assert.match(String(await a.pool.snapshot(asDatasetId('../x')).catch((x: unknown) => x)), 'not a dataset id');
    await writeFile(join(dir, 'junk'), 'not a stream');
    assert.match(String(await a.pool.receiveFile(d, join(dir, 'junk')).catch((x: unknown) => x)), 'not a btrfs send stream');
    await a.pool.deleteSnapshot(d, s);
    await a.pool.deleteSnapshot(d, s);
    assert.equal(await a.pool.snapshots(d), { local: [], received: [] });
  }));

test('p2p pool: promote never replaces an owner copy of another lineage; a stream can also be piped', () =>
  withTwo(async ({ dir, a, b }) => {
    const d = asDatasetId(randomUUID());
    await a.createVolume(d, 64 * MiB);
    await writeFile(join(a.pool.liveDir(d), 'marker-a'), 'a');
    const s = await a.pool.snapshot(d);
    const piped = join(dir, 'piped.stream');
    await sendToStream(join(a.pool.dir, 'snap', d, s), createWriteStream(piped));
    assert.equal(parseStreamHead(await readFile(piped)), { name: s, incremental: false });
    // The destination already owns a copy of its own (e.g. created there by mistake): receiving is
    // harmless, promoting over it is refused.
    await b.createVolume(d, 64 * MiB);
    assert.is(await b.pool.receiveFile(d, piped), s);
    const e = await b.pool.promote(d, s).then(() => null, (x: unknown) => x);
    assert.match(String(e), 'already has a live copy');
    assert.equal(await readdir(b.pool.liveDir(d)), ['image', 'manifest.json'], 'its own copy untouched');
    // Once that copy is marked handed off, the received one replaces it.
    await b.pool.markHandedOff(d, 'node-a', s);
    await b.pool.promote(d, s);
    assert.ok((await readdir(b.pool.liveDir(d))).includes('marker-a'));
    assert.is(await b.pool.handedOff(d), null, 'promote clears the marker');
  }));

test.run();
