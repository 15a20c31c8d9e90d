// A file-backed stand-in for the btrfs SnapshotPool, for unit tests of the transfer protocol only
// (the real pool is tested in test/transfer/real-pool.test.ts). A dataset is one file; a snapshot
// is a copy of it; a "stream" is a header line plus the snapshot's bytes, written in pieces so
// that a test can catch the sender mid-send.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetHoldings, SnapshotPool } from '../../src/backends/p2p/pool-api.js';
import type { DatasetId } from '../../src/model/ids.js';

export interface FakePoolOptions {
  /** freeBytes() answer. */
  free?: number;
  /** Write streams in pieces of this size... */
  pieceBytes?: number;
  /** ...pausing this long between pieces (0: as fast as possible). */
  pieceDelayMs?: number;
  /** The first send stops writing once it has written this many bytes of data and waits until it is aborted (a sender caught mid-send). */
  holdFirstSendAt?: number;
}

const HEADER_END = 0x0a;

export class FakePool implements SnapshotPool {
  readonly spoolDir: string;
  readonly exposed = new Set<string>();
  sends = 0;

  constructor(readonly root: string, readonly opts: FakePoolOptions = {}) {
    this.spoolDir = join(root, 'spool');
  }

  private live(id: string): string {
    return join(this.root, 'live', id);
  }

  private dir(kind: 'snap' | 'recv', id: string): string {
    return join(this.root, kind, id);
  }

  /** Test setup: the dataset's live content. */
  async write(id: string, data: Uint8Array): Promise<void> {
    await mkdir(join(this.root, 'live'), { recursive: true });
    await writeFile(this.live(id), data);
  }

  async readLive(id: string): Promise<Buffer> {
    return readFile(this.live(id));
  }

  async readReceived(id: string, name: string): Promise<Buffer> {
    return readFile(join(this.dir('recv', id), name));
  }

  async snapshot(id: DatasetId): Promise<string> {
    const name = `s${Date.now()}-${randomBytes(2).toString('hex')}`;
    await mkdir(this.dir('snap', id), { recursive: true });
    await copyFile(this.live(id), join(this.dir('snap', id), name));
    return name;
  }

  async snapshots(id: DatasetId): Promise<{ local: string[]; received: string[] }> {
    const list = async (kind: 'snap' | 'recv'): Promise<string[]> => (await readdir(this.dir(kind, id)).catch(() => [])).sort();
    return { local: await list('snap'), received: await list('recv') };
  }

  async sendToFile(id: DatasetId, snapshot: string, parent: string | null, out: string, signal?: AbortSignal): Promise<void> {
    this.sends++;
    const src = await this.find(id, snapshot);
    if (!src) throw new Error(`no snapshot ${snapshot}`);
    if (parent !== null && !(await this.find(id, parent))) throw new Error(`no parent ${parent}`);
    const data = await readFile(src);
    const header = Buffer.from(`${JSON.stringify({ snapshot, parent })}\n`);
    const fh = await open(out, 'w');
    try {
      await fh.write(header);
      const piece = this.opts.pieceBytes ?? data.length;
      for (let at = 0; at < data.length; at += piece) {
        if (signal?.aborted) throw new Error('send aborted');
        if (this.sends === 1 && this.opts.holdFirstSendAt !== undefined && at >= this.opts.holdFirstSendAt) {
          await new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));
          throw new Error('send aborted');
        }
        await fh.write(data.subarray(at, Math.min(data.length, at + piece)));
        if (this.opts.pieceDelayMs) await new Promise((r) => setTimeout(r, this.opts.pieceDelayMs));
      }
    } finally {
      await fh.close();
    }
  }

  async receiveFile(id: DatasetId, file: string): Promise<string> {
    const all = await readFile(file);
    const nl = all.indexOf(HEADER_END);
    const { snapshot, parent } = JSON.parse(all.subarray(0, nl).toString()) as { snapshot: string; parent: string | null };
    if (parent !== null && !(await this.find(id, parent))) throw new Error(`receive: parent ${parent} missing`);
    await mkdir(this.dir('recv', id), { recursive: true });
    await writeFile(join(this.dir('recv', id), snapshot), all.subarray(nl + 1));
    return snapshot;
  }

  async promote(id: DatasetId, snapshot: string): Promise<void> {
    await mkdir(join(this.root, 'live'), { recursive: true });
    await copyFile(join(this.dir('recv', id), snapshot), this.live(id));
    await rm(join(this.root, 'handed', `${id}.json`), { force: true });
  }

  async isExposed(id: DatasetId): Promise<boolean> {
    return this.exposed.has(id);
  }

  async markHandedOff(id: DatasetId, to: string, snapshot: string): Promise<void> {
    await mkdir(join(this.root, 'handed'), { recursive: true });
    await writeFile(join(this.root, 'handed', `${id}.json`), JSON.stringify({ to, snapshot }));
  }

  async handedOff(id: DatasetId): Promise<{ to: string; snapshot: string } | null> {
    try {
      return JSON.parse(await readFile(join(this.root, 'handed', `${id}.json`), 'utf8')) as { to: string; snapshot: string };
    } catch {
      return null;
    }
  }

  async inventory(): Promise<ReadonlyMap<DatasetId, DatasetHoldings>> {
    const ids = new Set<string>();
    for (const d of ['live', 'snap', 'recv']) for (const n of await readdir(join(this.root, d)).catch(() => [])) ids.add(n);
    const out = new Map<DatasetId, DatasetHoldings>();
    for (const id of ids) {
      const s = await this.snapshots(id as DatasetId);
      const live = await stat(this.live(id)).then(() => true, () => false);
      out.set(id as DatasetId, { live, handedOff: await this.handedOff(id as DatasetId), local: s.local, received: s.received });
    }
    return out;
  }

  async deleteSnapshot(id: DatasetId, name: string): Promise<void> {
    await rm(join(this.dir('snap', id), name), { force: true });
    await rm(join(this.dir('recv', id), name), { force: true });
  }

  async destroyAll(id: DatasetId): Promise<void> {
    for (const p of [this.live(id), this.dir('snap', id), this.dir('recv', id), join(this.root, 'handed', `${id}.json`)]) {
      await rm(p, { recursive: true, force: true });
    }
  }

  async allocatedBytes(id: DatasetId): Promise<number> {
    return (await stat(this.live(id))).size;
  }

  async freeBytes(): Promise<number> {
    return this.opts.free ?? 1e12;
  }

  private async find(id: string, name: string): Promise<string | undefined> {
    for (const kind of ['snap', 'recv'] as const) {
      const p = join(this.dir(kind, id), name);
      if (await stat(p).then(() => true, () => false)) return p;
    }
    return undefined;
  }
}
