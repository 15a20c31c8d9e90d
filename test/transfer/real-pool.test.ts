// Transfers between two real btrfs pools (loop-mounted pool files), over real mutual TLS on
// loopback: a full pull, an incremental one, the final hand-off and a move back; the data must be
// identical byte for byte. Needs root (losetup, mount, btrfs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BtrfsPool } from '../../src/backends/p2p/pool.js';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { TransferServer } from '../../src/transfer/server.js';
import { pullDataset, type PullOptions } from '../../src/transfer/client.js';
import { cleanupUnder } from '../contracts/backend-contract.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { capturingLogger, material } from './support.js';

const MiB = 1024 * 1024;
const root = process.getuid?.() === 0;

let dir: string;
let certs: TestCerts;
let a: BtrfsPool;
let b: BtrfsPool;
let serverA: TransferServer;
let serverB: TransferServer;

test.before(async () => {
  if (!root) return;
  dir = mkdtempSync(join(tmpdir(), 'flocker-transfer-btrfs-'));
  certs = await makeCerts(join(dir, 'certs'), { nodes: 2 });
  a = new BtrfsPool({ rootPath: join(dir, 'a'), poolFileSize: 512 * MiB });
  b = new BtrfsPool({ rootPath: join(dir, 'b'), poolFileSize: 512 * MiB });
  await Promise.all([a.ready(), b.ready()]);
  const log = capturingLogger().log;
  serverA = await TransferServer.start({ pool: a, tls: material(certs, certs.nodes[0]!), port: 0, listen: '127.0.0.1', log });
  serverB = await TransferServer.start({ pool: b, tls: material(certs, certs.nodes[1]!), port: 0, listen: '127.0.0.1', log });
});

test.after(async () => {
  if (!root) return;
  await serverA?.close();
  await serverB?.close();
  await a?.close().catch(() => undefined);
  await b?.close().catch(() => undefined);
  await cleanupUnder(dir);
});

/** `to` pulls from `from` (the node whose server and certificate are given). */
function pull(to: BtrfsPool, toNode: number, from: TransferServer, fromNode: number, id: DatasetId, final: boolean): ReturnType<typeof pullDataset> {
  const o: PullOptions = {
    pool: to, tls: material(certs, certs.nodes[toNode]!), peer: { host: '127.0.0.1', port: from.port, nodeUuid: certs.nodes[fromNode]!.uuid },
    datasetId: id, final, giveUpAfterMs: 20_000,
  };
  return pullDataset(o);
}

async function sha(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function scribble(path: string, at: number, bytes: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(randomBytes(bytes), 0, bytes, at);
  } finally {
    await fh.close();
  }
}

const received = (p: BtrfsPool, id: string, name: string): string => join(p.dir, 'recv', id, name, 'image');

test('full, then incremental, then final pull between two btrfs pools; then the dataset moves back; data identical', async () => {
  if (!root) return console.log('skipping: needs root');
  const id = asDatasetId(randomUUID());
  await a.createLive(id, 96 * MiB);
  const liveA = a.imagePath(id);
  await scribble(liveA, 0, 24 * MiB);
  await scribble(liveA, 60 * MiB, 8 * MiB);

  const full = await pull(b, 1, serverA, 0, id, false);
  assert.is(await sha(received(b, id, full.snapshot)), await sha(liveA));
  assert.ok(full.bytesTotal > 32 * MiB && full.bytesTotal < 40 * MiB, `a full stream of ${full.bytesTotal} bytes: about what is allocated, not the 96 MiB maximum`);

  await scribble(liveA, 30 * MiB, 2 * MiB);
  const inc = await pull(b, 1, serverA, 0, id, false);
  assert.is(await sha(received(b, id, inc.snapshot)), await sha(liveA));
  assert.ok(inc.bytesTotal < 4 * MiB, `an incremental stream of ${inc.bytesTotal} bytes carries what changed`);

  await scribble(liveA, 90 * MiB, MiB);
  const fin = await pull(b, 1, serverA, 0, id, true);
  assert.ok(fin.bytesTotal < 3 * MiB, `a final stream of ${fin.bytesTotal} bytes`);
  assert.equal(await a.handedOff(id), { to: certs.nodes[1]!.uuid, snapshot: fin.snapshot });
  await b.promote(id, fin.snapshot);
  const liveB = b.imagePath(id);
  assert.is(await sha(liveB), await sha(liveA));

  // Back to A. A's own snapshots cannot be parents (btrfs receive finds clone sources by received
  // UUID only), so a full pre-copy goes first; the final then carries only what changed.
  await scribble(liveB, 10 * MiB, MiB);
  const pre = await pull(a, 0, serverB, 1, id, false);
  assert.is(await sha(received(a, id, pre.snapshot)), await sha(liveB));
  await scribble(liveB, 50 * MiB, MiB);
  const back = await pull(a, 0, serverB, 1, id, true);
  assert.ok(back.bytesTotal < 3 * MiB, `the final of the move back sent ${back.bytesTotal} bytes`);
  await a.promote(id, back.snapshot);
  assert.is(await sha(a.imagePath(id)), await sha(liveB));
  assert.is(await a.handedOff(id), null);
});

test('btrfs send of the same snapshot pair is byte-identical, so a restarted sender can regenerate a spool and resume', async () => {
  if (!root) return console.log('skipping: needs root');
  const id = asDatasetId(randomUUID());
  await a.createLive(id, 32 * MiB);
  await scribble(a.imagePath(id), 0, 8 * MiB);
  const s1 = await a.snapshot(id);
  await scribble(a.imagePath(id), 4 * MiB, 2 * MiB);
  const s2 = await a.snapshot(id);
  for (const parent of [null, s1]) {
    const f1 = join(a.spoolDir, `${id}.test1`);
    const f2 = join(a.spoolDir, `${id}.test2`);
    await a.sendToFile(id, s2, parent, f1);
    await a.sendToFile(id, s2, parent, f2);
    assert.is(await sha(f1), await sha(f2), `parent ${parent}`);
  }
  await a.destroyAll(id);
});

test.run();
