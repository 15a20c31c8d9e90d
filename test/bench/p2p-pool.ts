// p2p pool figures (printed, never asserted), two real pools on this machine, no network:
//  - full send of a pre-copy (bytes, MiB/s) vs the incremental send of the final copy after 8 MiB changed
//  - the storage part of a hand-off's downtime: unmount → snapshot → incremental send → receive →
//    promote → attach → mount, for a 256 MiB and a 1 GiB dataset with half of each written
//  - bytes sent for a 1 GiB dataset with 10 % allocated
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { P2PBackend } from '../../src/backends/p2p/backend.js';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { cleanupUnder, expose } from '../contracts/backend-contract.js';

const MiB = 1024 * 1024;
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

/** Writes `bytes` of random data in 8 MiB pieces (one buffer of 512 MiB would be wasteful). */
async function fill(file: string, bytes: number): Promise<void> {
  await writeFile(file, '');
  for (let done = 0; done < bytes; done += 8 * MiB) await appendFile(file, randomBytes(Math.min(8 * MiB, bytes - done)));
}

async function move(dir: string, a: P2PBackend, b: P2PBackend, size: number, written: number): Promise<void> {
  const d: DatasetId = asDatasetId(randomUUID());
  const vid = `p2p-${d}`;
  await a.createVolume(d, size);
  const mpA = await expose(a, join(dir, 'mnt-a'), vid, d);
  await fill(join(mpA, 'data'), written);
  const s1 = await a.pool.snapshot(d);
  const full = join(a.pool.spoolDir, `${d}.full`);
  const [, sendMs] = await timed(() => a.pool.sendToFile(d, s1, null, full));
  const fullBytes = (await stat(full)).size;
  await b.pool.freeBytes();
  const [, recvMs] = await timed(() => b.pool.receiveFile(d, full));
  await appendFile(join(mpA, 'data'), randomBytes(8 * MiB));

  const t0 = performance.now();
  await a.unmount(mpA);
  await a.detachVolume(vid);
  const tUnmounted = performance.now();
  const s2 = await a.pool.snapshot(d);
  await a.pool.markHandedOff(d, 'node-b', s2);
  const incr = join(a.pool.spoolDir, `${d}.incr`);
  await a.pool.sendToFile(d, s2, s1, incr);
  const tSent = performance.now();
  await b.pool.receiveFile(d, incr);
  const tReceived = performance.now();
  await b.pool.promote(d, s2);
  await expose(b, join(dir, 'mnt-b'), vid, d);
  const tMounted = performance.now();
  const incrBytes = (await stat(incr)).size;

  console.log(`${mib(size)} dataset, ${mib(written)} written: pre-copy full send ${mib(fullBytes)} in ${sendMs.toFixed(0)} ms (${(fullBytes / MiB / (sendMs / 1000)).toFixed(0)} MiB/s), receive ${recvMs.toFixed(0)} ms`);
  console.log(`  hand-off after 8 MiB changed: incremental stream ${mib(incrBytes)}; storage downtime ${(tMounted - t0).toFixed(0)} ms = unmount+detach ${(tUnmounted - t0).toFixed(0)} + snapshot+mark+send ${(tSent - tUnmounted).toFixed(0)} + receive ${(tReceived - tSent).toFixed(0)} + promote+attach+mount ${(tMounted - tReceived).toFixed(0)}`);
}

async function sparse(dir: string, a: P2PBackend): Promise<void> {
  const d = asDatasetId(randomUUID());
  await a.createVolume(d, 1024 * MiB);
  const mp = await expose(a, join(dir, 'mnt-a'), `p2p-${d}`, d);
  await fill(join(mp, 'data'), 100 * MiB);
  const s = await a.pool.snapshot(d);
  const out = join(dir, 'sparse.stream');
  await a.pool.sendToFile(d, s, null, out);
  console.log(`1 GiB dataset, 100 MiB written: allocated ${mib(await a.pool.allocatedBytes(d))}, full send ${mib((await stat(out)).size)}`);
}

if (process.getuid?.() !== 0) {
  console.log('p2p pool bench skipped: needs root (losetup, mount, btrfs)');
} else {
  const dir = await mkdtemp(join(tmpdir(), 'flocker-bench-p2p-'));
  const mk = (id: string) => new P2PBackend({ rootPath: join(dir, id), computeInstanceId: id, allocationUnit: MiB });
  try {
    const [a, b] = [mk('node-a'), mk('node-b')];
    await move(dir, a, b, 256 * MiB, 128 * MiB);
    await move(dir, a, b, 1024 * MiB, 512 * MiB);
    await sparse(dir, a);
  } finally {
    await cleanupUnder(dir);
  }
}
