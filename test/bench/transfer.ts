// Agent-to-agent transfer throughput (printed, never asserted), on loopback with real mutual TLS.
// The sender runs in its own process, as it would on its own machine.
//  1. The transfer layer: pulling a 1 GiB stream (spooled by the sender while it is served,
//     verified chunk by chunk, spooled by the receiver) vs a plain TLS stream of the same file
//     written to a file. Goal ≥ 0.7×.
//  2. As root, two real btrfs pools: a 1 GiB dataset with 50 % random data pulled in full
//     (btrfs send + transfer + btrfs receive) vs a plain TLS copy of its image file.
// BENCH_TRANSFER_MIB changes the size (default 1024).
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { DatasetHoldings, SnapshotPool } from '../../src/backends/p2p/pool-api.js';
import { BtrfsPool } from '../../src/backends/p2p/pool.js';
import { silentLogger } from '../../src/log.js';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { serverTlsOptions, type TlsMaterial } from '../../src/tls/options.js';
import { pullDataset } from '../../src/transfer/client.js';
import { TransferServer } from '../../src/transfer/server.js';
import { transferClientTls } from '../../src/transfer/tls.js';
import { cleanupUnder } from '../contracts/backend-contract.js';
import { makeCerts, type TestCerts } from '../support/certs.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_TRANSFER_MIB ?? 1024) * MiB;

/** Serves one file as the stream of every snapshot (as btrfs send would write it); receiving hashes the spool. */
class FileStreamPool implements SnapshotPool {
  receivedDigest = '';
  constructor(readonly spoolDir: string, private readonly source: string, private readonly id: DatasetId) {}
  async snapshot(): Promise<string> { return `s${Date.now()}-0000`; }
  async snapshots(): Promise<{ local: string[]; received: string[] }> { return { local: [], received: [] }; }
  async sendToFile(_d: DatasetId, _s: string, _p: string | null, out: string, signal?: AbortSignal): Promise<void> {
    await pipeline(createReadStream(this.source, { highWaterMark: MiB }), createWriteStream(out), signal ? { signal } : {});
  }
  async receiveFile(_d: DatasetId, file: string): Promise<string> {
    this.receivedDigest = await fileDigest(file);
    return 'received';
  }
  async promote(): Promise<void> {}
  async isExposed(): Promise<boolean> { return false; }
  async markHandedOff(): Promise<void> {}
  async handedOff(): Promise<null> { return null; }
  async inventory(): Promise<ReadonlyMap<DatasetId, DatasetHoldings>> {
    return new Map([[this.id, { live: true, handedOff: null, local: [], received: [] }]]);
  }
  async deleteSnapshot(): Promise<void> {}
  async destroyAll(): Promise<void> {}
  async allocatedBytes(): Promise<number> { return (await stat(this.source)).size; }
  async freeBytes(): Promise<number> { return 1e15; }
}

async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 4 * MiB }), h);
  return h.digest('hex');
}

function material(c: TestCerts, i: number): TlsMaterial {
  const n = c.nodes[i]!;
  return { caCert: readFileSync(c.caCert, 'utf8'), cert: readFileSync(n.cert, 'utf8'), key: readFileSync(n.key, 'utf8') };
}

async function writeRandom(file: string, bytes: number, everyOther = false): Promise<void> {
  const fh = await open(file, 'r+').catch(() => open(file, 'w'));
  const block = 64 * MiB;
  try {
    for (let at = 0, i = 0; at < bytes; at += block, i++) {
      if (everyOther && i % 2 === 1) continue;
      const n = Math.min(block, bytes - at);
      await fh.write(randomBytes(n), 0, n, at);
    }
  } finally {
    await fh.close();
  }
}

const rate = (bytes: number, s: number): string => `${(bytes / MiB / s).toFixed(0)} MiB/s`;

/** CPU seconds a process (and its waited-for children, e.g. btrfs) has used; wall time lies on a loaded machine. */
function cpuSeconds(pid: number | 'self'): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 after the command.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
}

/** Wall and CPU seconds (ours + the sender's) of `f`. */
async function measured<T>(senderPid: number, f: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = cpuSeconds('self') + cpuSeconds(senderPid);
  const t = performance.now();
  const value = await f();
  const wall = (performance.now() - t) / 1000;
  return { value, wall, cpu: cpuSeconds('self') + cpuSeconds(senderPid) - c0 };
}

const load = (): string => `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs`;

// ---- the sender's process ----------------------------------------------------------------------

interface SenderReady { plainPort: number; transferPort: number; file: string }

async function sender(): Promise<void> {
  const dir = process.env.BENCH_DIR!;
  const mode = process.env.BENCH_MODE!;
  const id = asDatasetId(process.env.BENCH_DATASET!);
  const certs = JSON.parse(process.env.BENCH_CERTS!) as TestCerts;
  let pool: SnapshotPool;
  let file: string;
  let close = async (): Promise<void> => {};
  if (mode === 'file') {
    file = join(dir, 'source');
    await mkdir(join(dir, 'sender-spool'), { recursive: true });
    pool = new FileStreamPool(join(dir, 'sender-spool'), file, id);
  } else {
    const a = new BtrfsPool({ rootPath: join(dir, 'a'), poolFileSize: 2 * SIZE + 512 * MiB });
    await a.ready();
    await a.createLive(id, SIZE);
    file = a.imagePath(id);
    await writeRandom(file, SIZE, true);
    pool = a;
    close = () => a.close();
  }
  const plain = createServer(serverTlsOptions(material(certs, 0)), (_req, res) => {
    void pipeline(createReadStream(file, { highWaterMark: MiB }), res).catch(() => undefined);
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const transfer = await TransferServer.start({ pool, tls: material(certs, 0), port: 0, listen: '127.0.0.1', log: silentLogger() });
  const ready: SenderReady = { plainPort: (plain.address() as AddressInfo).port, transferPort: transfer.port, file };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  // The parent closes our stdin when it is done.
  process.stdin.resume();
  await new Promise((r) => process.stdin.once('end', r));
  plain.close();
  plain.closeAllConnections();
  await transfer.close();
  await close();
}

// ---- the receiver (this process) ---------------------------------------------------------------

async function startSender(dir: string, mode: 'file' | 'btrfs', id: DatasetId, certs: TestCerts): Promise<{ ready: SenderReady; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_TRANSFER_ROLE: 'sender', BENCH_DIR: dir, BENCH_MODE: mode, BENCH_DATASET: id, BENCH_CERTS: JSON.stringify(certs) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the sender exited (${code}) before it was ready`)));
  });
  return {
    ready: JSON.parse(line) as SenderReady,
    pid: child.pid!,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

async function plainTls(certs: TestCerts, port: number, out: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request({ ...transferClientTls(material(certs, 1), certs.nodes[0]!.uuid), host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      pipeline(res, createWriteStream(out)).then(resolve, reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function pull(certs: TestCerts, pool: SnapshotPool, port: number, id: DatasetId): Promise<number> {
  const r = await pullDataset({ pool, tls: material(certs, 1), peer: { host: '127.0.0.1', port, nodeUuid: certs.nodes[0]!.uuid }, datasetId: id, final: false });
  return r.bytesTotal;
}

const figures = (m: { wall: number; cpu: number }, bytes: number): string =>
  `${m.wall.toFixed(2)} s (${rate(bytes, m.wall)}), CPU ${m.cpu.toFixed(2)} s both ends (${rate(bytes, m.cpu)} of CPU)`;

async function transferLayer(dir: string, certs: TestCerts): Promise<void> {
  const id = asDatasetId(randomUUID());
  const source = join(dir, 'source');
  await writeRandom(source, SIZE);
  const expected = await fileDigest(source);
  await mkdir(join(dir, 'receiver-spool'));
  const s = await startSender(dir, 'file', id, certs);
  try {
    const plain = await measured(s.pid, () => plainTls(certs, s.ready.plainPort, join(dir, 'plain-copy')));
    await rm(join(dir, 'plain-copy'));
    const receiver = new FileStreamPool(join(dir, 'receiver-spool'), source, id);
    const p = await measured(s.pid, () => pull(certs, receiver, s.ready.transferPort, id));
    console.log(`(${load()})`);
    console.log(`plain TLS stream of a ${SIZE / MiB} MiB file, to a file: ${figures(plain, SIZE)}`);
    console.log(`transfer pull of the same stream (spooled while served, 4 MiB chunks verified, spooled): ${figures(p, p.value)}${receiver.receivedDigest === expected ? '' : ' — DATA DIFFERS'}`);
    console.log(`ratio transfer / plain TLS: throughput ${(plain.wall / p.wall).toFixed(2)}× (goal ≥ 0.7×), per CPU second ${(plain.cpu / p.cpu).toFixed(2)}×`);
  } finally {
    await s.stop();
    await rm(source, { force: true });
  }
}

async function btrfsPools(dir: string, certs: TestCerts): Promise<void> {
  const id = asDatasetId(randomUUID());
  const b = new BtrfsPool({ rootPath: join(dir, 'b'), poolFileSize: 3 * SIZE + 512 * MiB });
  await b.ready();
  const s = await startSender(dir, 'btrfs', id, certs);
  try {
    const plain = await measured(s.pid, () => plainTls(certs, s.ready.plainPort, join(dir, 'plain-copy')));
    await rm(join(dir, 'plain-copy'));
    const p = await measured(s.pid, () => pull(certs, b, s.ready.transferPort, id));
    console.log(`btrfs pools, ${SIZE / MiB} MiB dataset with 50 % random data (${load()}):`);
    console.log(`  plain TLS copy of the image file (${SIZE / MiB} MiB): ${figures(plain, SIZE)}`);
    console.log(`  pull (btrfs send, transfer, btrfs receive; stream ${(p.value / MiB).toFixed(0)} MiB): ${figures(p, p.value)}`);
    console.log(`  time ratio plain / pull ${(plain.wall / p.wall).toFixed(2)}×`);
  } finally {
    await s.stop();
    await b.close().catch(() => undefined);
  }
}

if (process.env.BENCH_TRANSFER_ROLE === 'sender') {
  await sender();
} else {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-bench-transfer-'));
  try {
    const certs = await makeCerts(join(dir, 'certs'), { nodes: 2 });
    await transferLayer(dir, certs);
    if (process.getuid?.() === 0) await btrfsPools(dir, certs);
    else console.log('btrfs pools: skipped (needs root)');
  } finally {
    await cleanupUnder(dir);
  }
}
