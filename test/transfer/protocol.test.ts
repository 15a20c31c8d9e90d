// The transfer protocol between two agents over real mutual TLS on loopback, with certificates from
// the real CA; the pools are file-backed fakes (the btrfs pool has its own test).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { UserError } from '../../src/errors.js';
import { TransferServer, CORRUPT_ENV } from '../../src/transfer/server.js';
import { pullDataset, preCopy, type PullOptions, type TransferProgress } from '../../src/transfer/client.js';
import { TransferError } from '../../src/transfer/errors.js';
import { transferClientTls } from '../../src/transfer/tls.js';
import { CHUNK_BYTES } from '../../src/transfer/protocol.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { freePort } from '../support/ports.js';
import { failure } from '../support/failure.js';
import { FakePool } from './fake-pool.js';
import { capturingLogger, material, type CapturedLog } from './support.js';
import { until } from '../support/until.js';

let dir: string;
let certs: TestCerts;
let foreign: TestCerts;
const servers: TransferServer[] = [];

const MiB = 1024 * 1024;
const newId = (): DatasetId => asDatasetId(randomUUID());

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-transfer-'));
  [certs, foreign] = await Promise.all([
    makeCerts(join(dir, 'certs'), { nodes: 3, users: ['user'] }),
    makeCerts(join(dir, 'foreign'), { nodes: 1, users: [] }),
  ]);
});

test.after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

const A = (): TestCerts['nodes'][number] => certs.nodes[0]!;
const B = (): TestCerts['nodes'][number] => certs.nodes[1]!;
const C = (): TestCerts['nodes'][number] => certs.nodes[2]!;

let poolCount = 0;
function pool(opts: ConstructorParameters<typeof FakePool>[1] = {}): FakePool {
  return new FakePool(join(dir, `pool-${++poolCount}`), opts);
}

/** A sender's pool holding one dataset of `bytes` random bytes, and a receiver's pool. */
async function withDataset(bytes: number, srcOpts: ConstructorParameters<typeof FakePool>[1] = {}, dstOpts: ConstructorParameters<typeof FakePool>[1] = {}): Promise<{ src: FakePool; dst: FakePool; id: DatasetId; data: Buffer }> {
  const [src, dst, id, data] = [pool(srcOpts), pool(dstOpts), newId(), randomBytes(bytes)];
  await src.write(id, data);
  return { src, dst, id, data };
}

async function serve(p: FakePool, extra: { port?: number; log?: CapturedLog; corruptOnceAt?: number } = {}): Promise<TransferServer> {
  const s = await TransferServer.start({
    pool: p, tls: material(certs, A()), port: extra.port ?? 0, listen: '127.0.0.1', log: (extra.log ?? capturingLogger()).log,
    keepaliveMs: 200, ...(extra.corruptOnceAt !== undefined ? { corruptOnceAt: extra.corruptOnceAt } : {}),
  });
  servers.push(s);
  return s;
}

function pullOpts(server: TransferServer, local: FakePool, datasetId: DatasetId, more: Partial<PullOptions> = {}): PullOptions {
  return {
    pool: local, tls: material(certs, B()), peer: { host: '127.0.0.1', port: server.port, nodeUuid: A().uuid },
    datasetId, final: false, backoff: { initialMs: 20, maxMs: 200 }, giveUpAfterMs: 60_000, idleTimeoutMs: 15_000, ...more,
  };
}

test('pre-copy pulls the whole stream, then only from the newest common snapshot; data identical; spools cleaned', async () => {
  const { src, dst, id, data: v1 } = await withDataset(9 * MiB + 12345);
  const server = await serve(src);
  const progress: TransferProgress[] = [];
  const first = await pullDataset(pullOpts(server, dst, id, { onProgress: (p) => progress.push(p) }));
  assert.equal(await dst.readReceived(id, first.snapshot), v1);
  assert.ok(first.bytesTotal > v1.length && first.bytesReceived === first.bytesTotal);
  assert.is(progress[progress.length - 1]!.bytesDone, first.bytesTotal);
  assert.ok(progress.every((p, i) => i === 0 || p.bytesDone >= progress[i - 1]!.bytesDone));

  const v2 = Buffer.concat([v1, randomBytes(MiB)]);
  await src.write(id, v2);
  const log = capturingLogger();
  const second = await pullDataset(pullOpts(server, dst, id, { log: log.log }));
  assert.equal(await dst.readReceived(id, second.snapshot), v2);
  const pulled = log.lines.find((l) => l.msg === 'pulled a snapshot')!;
  assert.is(pulled['parent'], first.snapshot, 'the incremental stream is relative to the snapshot both have');
  // Nothing left behind: the receiver's spool, and the sender's (told by DELETE).
  assert.equal(readdirSync(dst.spoolDir), []);
  await until('the sender to drop its spool', () => readdirSync(join(src.spoolDir, `${id}.out`)).length === 0);
});

test('preCopy stops when a round no longer shrinks or moves little', async () => {
  const { src, dst, id } = await withDataset(3 * MiB);
  const server = await serve(src);
  const r = await preCopy({ ...pullOpts(server, dst, id), smallBytes: MiB });
  // The fake sends whole files, so round 2 moves as much as round 1 and the loop stops there.
  assert.is(r.rounds.length, 2);
  assert.is(r.snapshot, r.rounds[1]!.snapshot);
  assert.ok((await dst.snapshots(id)).received.includes(r.snapshot));
});

test('the sender is stopped mid-stream and restarted: the pull resumes from the last verified chunk', async () => {
  const { src, dst, id, data } = await withDataset(24 * MiB, { pieceBytes: MiB, holdFirstSendAt: 3 * CHUNK_BYTES });
  const port = await freePort();
  const first = await serve(src, { port });
  let done = 0;
  const clientLog = capturingLogger();
  const pulling = pullDataset(pullOpts(first, dst, id, { log: clientLog.log, onProgress: (p) => (done = p.bytesDone) }));
  await until('two verified chunks', () => done >= 2 * CHUNK_BYTES);
  await first.close();
  const log = capturingLogger();
  const again = await serve(src, { port, log });
  const r = await pulling;
  assert.equal(await dst.readReceived(id, r.snapshot), data);
  const served = log.lines.filter((l) => l.msg === 'serving a stream').map((l) => l['offset'] as number);
  assert.ok(served.length > 0 && served.every((o) => o >= 2 * CHUNK_BYTES), `the restarted sender served from ${served.join(', ')}`);
  assert.ok(clientLog.has(/transfer interrupted; retrying/));
  assert.ok(log.has(/regenerating an incomplete outgoing spool/), 'the restarted sender regenerated its spool');
  assert.is(src.sends, 2);
  await again.close();
});

test('the receiver is stopped mid-stream: the next pull continues from its saved state, never from zero', async () => {
  // Slow enough (about 1 s for the stream) that a progress report (every 250 ms) comes mid-stream
  // even on an idle machine.
  const { src, dst, id, data } = await withDataset(20 * MiB, { pieceBytes: MiB, pieceDelayMs: 50 });
  const server = await serve(src);
  const abort = new AbortController();
  let done = 0;
  const e = await failure(pullDataset(pullOpts(server, dst, id, { signal: abort.signal, onProgress: (p) => { done = p.bytesDone; if (done >= 2 * CHUNK_BYTES) abort.abort(); } })));
  assert.instance(e, TransferError);
  assert.ok(existsSync(join(dst.spoolDir, `${id}.in.json`)), 'the verified part is kept');
  const r = await pullDataset(pullOpts(server, dst, id));
  assert.equal(await dst.readReceived(id, r.snapshot), data);
  assert.ok(r.bytesReceived <= r.bytesTotal - 2 * CHUNK_BYTES, `resent ${r.bytesReceived} of ${r.bytesTotal}`);
});

test('the sender dropped the stream (forget) while the receiver was away: the receiver asks anew and completes', async () => {
  const { src, dst, id, data } = await withDataset(16 * MiB, { pieceBytes: MiB, pieceDelayMs: 10 });
  const server = await serve(src);
  const abort = new AbortController();
  await failure(pullDataset(pullOpts(server, dst, id, { signal: abort.signal, onProgress: (p) => { if (p.bytesDone >= CHUNK_BYTES) abort.abort(); } })));
  await server.forget(id);
  assert.is(existsSync(join(src.spoolDir, `${id}.out`)), false);
  const log = capturingLogger();
  const r = await pullDataset(pullOpts(server, dst, id, { log: log.log }));
  assert.equal(await dst.readReceived(id, r.snapshot), data);
  assert.ok(log.has(/cannot serve this stream any more; asking for a new one/));
});

test('two pulls of one dataset at once take turns (one spool each time), both complete', async () => {
  const { src, dst, id, data } = await withDataset(6 * MiB);
  const server = await serve(src);
  const [r1, r2] = await Promise.all([pullDataset(pullOpts(server, dst, id)), pullDataset(pullOpts(server, dst, id))]);
  assert.not.equal(r1.snapshot, r2.snapshot);
  assert.equal(await dst.readReceived(id, r1.snapshot), data);
  assert.equal(await dst.readReceived(id, r2.snapshot), data);
});

test(`a byte corrupted in transit (${CORRUPT_ENV}) is detected by the chunk digest and only that chunk is fetched again`, async () => {
  const { src, dst, id, data } = await withDataset(13 * MiB);
  const serverLog = capturingLogger();
  const corruptAt = CHUNK_BYTES + 777;
  process.env[CORRUPT_ENV] = String(corruptAt);
  let server: TransferServer;
  try {
    server = await serve(src, { log: serverLog });
  } finally {
    delete process.env[CORRUPT_ENV];
  }
  const log = capturingLogger();
  const r = await pullDataset(pullOpts(server, dst, id, { log: log.log }));
  assert.equal(await dst.readReceived(id, r.snapshot), data);
  assert.ok(serverLog.has(/flipped one byte/), 'the fault fired');
  const bad = log.lines.filter((l) => /failed its digest/.test(l.msg));
  assert.is(bad.length, 1);
  assert.is(bad[0]!['offset'], CHUNK_BYTES);
  assert.is(r.bytesReceived, r.bytesTotal, 'verified bytes cross once; the corrupted chunk was dropped, not counted');
  const gets = serverLog.lines.length;
  assert.ok(gets > 0);
});

function rawGet(port: number, tls: ReturnType<typeof transferClientTls>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ ...tls, host: '127.0.0.1', port, path: `/v1/datasets/${randomUUID()}/streams/a.b`, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a node certificate of this cluster is admitted; a user certificate, a foreign CA and no certificate are refused at the handshake, and logged', async () => {
  const log = capturingLogger();
  const server = await serve(pool(), { log });
  assert.is(await rawGet(server.port, transferClientTls(material(certs, B()), A().uuid)), 404);

  const user = await failure(rawGet(server.port, transferClientTls(material(certs, certs.users['user']!), A().uuid)));
  assert.match(String((user as { code?: string }).code ?? user.message), /ECONNRESET|socket hang up|EPIPE/);
  await until('the user refusal logged', () => log.has(/refused a transfer connection$/));
  assert.ok(log.lines.some((l) => /node certificate.*user-user/.test(String(l['reason']))));

  const alien = material(foreign, foreign.nodes[0]!);
  const e = await failure(rawGet(server.port, { ...transferClientTls(alien, A().uuid), ca: material(certs, A()).caCert }));
  assert.match(String((e as { code?: string }).code ?? e.message), /ALERT|ECONNRESET/);
  await until('the foreign refusal logged', () => log.has(/at the TLS handshake/));

  const none = await failure(rawGet(server.port, { ...transferClientTls(material(certs, B()), A().uuid), cert: undefined, key: undefined }));
  assert.ok((none as { code?: string }).code, none.message);
});

test('the client refuses a server that is not the node it meant to pull from', async () => {
  const src = pool();
  const id = newId();
  await src.write(id, randomBytes(1000));
  const server = await serve(src);
  const e = await failure(pullDataset({ ...pullOpts(server, pool(), id), peer: { host: '127.0.0.1', port: server.port, nodeUuid: C().uuid } }));
  assert.instance(e, TransferError);
  assert.is((e as TransferError).failure, 'refused');
  assert.match(e.message, new RegExp(`not node ${C().uuid}.*node-${C().uuid}`));
});

test('a transfer port in use is a startup error naming the port and the agent.yml key', async () => {
  const busy = createNetServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    const e = await failure(serve(pool(), { port }));
    assert.instance(e, UserError);
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}.*already in use.*dataset\\.transfer\\.port`));
  } finally {
    busy.close();
  }
});

test('a receiver without the space refuses before transferring, saying what it needs and has', async () => {
  const { src, dst, id } = await withDataset(2 * MiB, {}, { free: 3 * MiB });
  const server = await serve(src);
  const e = await failure(pullDataset(pullOpts(server, dst, id)));
  assert.instance(e, TransferError);
  assert.is((e as TransferError).failure, 'no-space');
  assert.match(e.message, /needs about 4M \(4194304 bytes.*has 3M \(3145728 bytes\) free/);
  assert.equal(readdirSync(dst.spoolDir), []);
  await until('the sender to drop the unwanted spool', () => readdirSync(join(src.spoolDir, `${id}.out`)).length === 0);
});

test('final: refused while exposed; then handed off before it is served; asked again by the same node, the same snapshot; another node is sent away', async () => {
  const { src, dst, id, data } = await withDataset(5 * MiB);
  src.exposed.add(id);
  const server = await serve(src);
  const pre = await pullDataset(pullOpts(server, dst, id));
  const e = await failure(pullDataset(pullOpts(server, dst, id, { final: true })));
  assert.instance(e, TransferError);
  assert.is((e as TransferError).failure, 'refused');
  assert.match(e.message, /still attached or mounted/);
  assert.is(await src.handedOff(id), null);

  src.exposed.delete(id);
  const fin = await pullDataset(pullOpts(server, dst, id, { final: true }));
  assert.not.equal(fin.snapshot, pre.snapshot);
  assert.equal(await src.handedOff(id), { to: B().uuid, snapshot: fin.snapshot });
  assert.equal(await dst.readReceived(id, fin.snapshot), data);

  // Already received: nothing to send.
  const again = await pullDataset(pullOpts(server, dst, id, { final: true }));
  assert.equal([again.snapshot, again.bytesTotal], [fin.snapshot, 0]);
  // The receiver lost it (e.g. its pool was wiped): served again, the same final snapshot.
  await dst.deleteSnapshot(id, fin.snapshot);
  const resent = await pullDataset(pullOpts(server, dst, id, { final: true }));
  assert.is(resent.snapshot, fin.snapshot);
  assert.equal(await dst.readReceived(id, fin.snapshot), data);

  const other = await failure(pullDataset({ ...pullOpts(server, pool(), id, { final: true }), tls: material(certs, C()) }));
  assert.instance(other, TransferError);
  assert.match(other.message, new RegExp(`handed off to node ${B().uuid.slice(0, 8)}`));
});

test('bad requests get a 4xx with a description', async () => {
  const server = await serve(pool());
  const tls = transferClientTls(material(certs, B()), A().uuid);
  const call = (method: string, path: string, body?: string): Promise<{ status: number; text: string }> => new Promise((resolve, reject) => {
    const req = request({ ...tls, host: '127.0.0.1', port: server.port, path, method, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const id = randomUUID();
  for (const [method, path, body, status] of [
    ['POST', `/v1/datasets/nope/streams`, '{"final":false,"have":[]}', 400],
    ['POST', `/v1/datasets/${id}/streams`, 'not json', 400],
    ['POST', `/v1/datasets/${id}/streams`, '{"final":1,"have":[]}', 400],
    ['POST', `/v1/datasets/${id}/streams`, '{"final":false,"have":["../x"]}', 400],
    ['POST', `/v1/datasets/${id}/streams`, '{"final":false,"have":[]}', 404],
    ['GET', `/v1/datasets/${id}/streams/a.b?offset=5`, undefined, 400],
    ['GET', `/v1/datasets/${id}/streams/..?offset=0`, undefined, 400],
    ['GET', `/v1/nothing`, undefined, 404],
  ] as const) {
    const r = await call(method, path, body);
    assert.is(r.status, status, `${method} ${path}: ${r.text}`);
    assert.type((JSON.parse(r.text) as { description: unknown }).description, 'string');
  }
});

test.run();
