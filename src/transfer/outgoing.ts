// The sender's spool of one stream: `btrfs send` (through the pool) writes a file; a tailer follows
// the file as it grows, cutting it into chunks and digesting each once, so receivers are served
// while the send is still running. The meta file beside it lets a restarted sender serve a
// complete spool as is, or regenerate an incomplete one from the same snapshot pair.
import { EventEmitter } from 'node:events';
import { open, mkdir, readFile, rm, stat, writeFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetId } from '../model/ids.js';
import type { SnapshotPool } from '../backends/p2p/pool-api.js';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import { CHUNK_BYTES, chunkDigestOffThread, rootDigest } from './protocol.js';

export interface OutgoingMeta {
  readonly version: 1;
  readonly dataset: string;
  readonly stream: string;
  readonly snapshot: string;
  readonly parent: string | null;
  /** Node UUID of the receiver the stream was made for. */
  readonly requester: string;
  readonly final: boolean;
  readonly complete?: { readonly length: number; readonly chunks: readonly string[] };
}

/** Named `<dataset_id>…` as the pool expects, so destroying the dataset also drops its spools. */
export function outgoingDir(pool: Pick<SnapshotPool, 'spoolDir'>, datasetId: string): string {
  return join(pool.spoolDir, `${datasetId}.out`);
}

const POLL_MIN_MS = 2;
/** Chunks kept in memory after they are cut: receivers that keep up need no second read of the spool. */
const RECENT_CHUNKS = 4;
const POLL_MAX_MS = 50;

export class OutgoingStream extends EventEmitter {
  /** Digest of every chunk cut so far (all full-size except, once complete, the last). */
  readonly digests: Buffer[] = [];
  complete: { readonly length: number; readonly root: Buffer } | undefined;
  failure: string | undefined;
  private readonly abort = new AbortController();
  private readonly recent = new Map<number, Buffer>();
  private running: Promise<void> | undefined;

  private constructor(
    private readonly pool: SnapshotPool,
    readonly meta: OutgoingMeta,
    readonly file: string,
    private readonly metaFile: string,
    private readonly log: Logger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** A stream from its meta on disk: served as is when complete, else regenerated. Undefined if unknown. */
  static async load(pool: SnapshotPool, datasetId: string, stream: string, log: Logger): Promise<OutgoingStream | undefined> {
    const s = await OutgoingStream.peek(pool, datasetId, stream, log);
    if (!s || s.complete) return s;
    log.info({ dataset: datasetId, stream }, 'regenerating an incomplete outgoing spool (the sender restarted mid-send)');
    const fresh = new OutgoingStream(pool, { ...s.meta, complete: undefined }, s.file, s.metaFile, log);
    await fresh.start();
    return fresh;
  }

  /** A stream from its meta on disk, complete or not, without starting anything (to serve or delete it). */
  static async peek(pool: SnapshotPool, datasetId: string, stream: string, log: Logger): Promise<OutgoingStream | undefined> {
    const dir = outgoingDir(pool, datasetId);
    let meta: OutgoingMeta;
    try {
      meta = JSON.parse(await readFile(join(dir, `${stream}.json`), 'utf8')) as OutgoingMeta;
    } catch {
      return undefined;
    }
    if (meta.version !== 1 || meta.stream !== stream || meta.dataset !== datasetId) return undefined;
    const s = new OutgoingStream(pool, meta, join(dir, `${stream}.stream`), join(dir, `${stream}.json`), log);
    if (meta.complete && (await sizeOf(s.file)) === meta.complete.length) {
      for (const d of meta.complete.chunks) s.digests.push(Buffer.from(d, 'hex'));
      s.complete = { length: meta.complete.length, root: rootDigest(meta.complete.length, s.digests) };
    }
    return s;
  }

  /** A new stream: writes its meta, then starts the send and the tailer. */
  static async create(pool: SnapshotPool, meta: OutgoingMeta, log: Logger): Promise<OutgoingStream> {
    const dir = outgoingDir(pool, meta.dataset);
    await mkdir(dir, { recursive: true });
    const s = new OutgoingStream(pool, meta, join(dir, `${meta.stream}.stream`), join(dir, `${meta.stream}.json`), log);
    await s.start();
    return s;
  }

  private async start(): Promise<void> {
    await writeJsonAtomic(this.metaFile, this.meta);
    await rm(this.file, { force: true });
    // Created and opened before the send: the tailer follows this file (btrfs send -f truncates it
    // in place) even if a failing send removes it.
    await writeFile(this.file, '');
    const fh = await open(this.file, 'r');
    this.running = this.run(fh).catch((e: unknown) => {
      this.abort.abort();
      this.failure = `reading the spool failed: ${errorMessage(e)}`;
      this.log.warn({ dataset: this.meta.dataset, stream: this.meta.stream, err: this.failure }, 'outgoing stream failed');
      this.emit('progress');
    });
  }

  /** Resolves on the next chunk, completion or failure, or after `ms` (the caller then sends a keepalive). */
  progress(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.off('progress', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.once('progress', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Length of chunk `index` if it is cut, else undefined. */
  chunkLength(index: number): number | undefined {
    if (index >= this.digests.length) return undefined;
    if (!this.complete) return CHUNK_BYTES;
    return Math.min(CHUNK_BYTES, this.complete.length - index * CHUNK_BYTES);
  }

  /** Stop the send (if running) and delete the spool. */
  async remove(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => undefined);
    await rm(this.file, { force: true });
    await rm(this.metaFile, { force: true });
  }

  /** Stop the send without deleting anything (the sender is shutting down). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  private async run(fh: FileHandle): Promise<void> {
    const { dataset, snapshot, parent } = this.meta;
    let settled: { error?: unknown } | undefined;
    const send = this.pool.sendToFile(dataset as DatasetId, snapshot, parent, this.file, this.abort.signal).then(
      () => { settled = {}; },
      (e: unknown) => { settled = { error: e }; },
    );
    try {
      let pollMs = POLL_MIN_MS;
      for (;;) {
        // Read the state before the size: a send that has settled has written everything.
        const finished = settled;
        const size = (await fh.stat()).size;
        let cut = false;
        while (size - this.digests.length * CHUNK_BYTES >= CHUNK_BYTES) {
          await this.cut(fh, CHUNK_BYTES);
          cut = true;
        }
        if (finished?.error !== undefined) {
          this.failure = this.abort.signal.aborted ? 'the send was stopped' : `btrfs send failed: ${errorMessage(finished.error)}`;
          this.log.warn({ dataset, snapshot, parent, err: this.failure }, 'outgoing stream failed');
          this.emit('progress');
          return;
        }
        if (finished) {
          const rest = size - this.digests.length * CHUNK_BYTES;
          if (rest > 0) await this.cut(fh, rest);
          this.complete = { length: size, root: rootDigest(size, this.digests) };
          await writeJsonAtomic(this.metaFile, { ...this.meta, complete: { length: size, chunks: this.digests.map((d) => d.toString('hex')) } });
          this.emit('progress');
          return;
        }
        if (cut) this.emit('progress');
        pollMs = cut ? POLL_MIN_MS : Math.min(POLL_MAX_MS, pollMs * 2);
        await Promise.race([send, new Promise((r) => setTimeout(r, pollMs))]);
      }
    } finally {
      await fh.close();
    }
  }

  private async cut(fh: FileHandle, length: number): Promise<void> {
    const buf = Buffer.allocUnsafe(length);
    const index = this.digests.length;
    const { bytesRead } = await fh.read(buf, 0, length, index * CHUNK_BYTES);
    if (bytesRead !== length) throw new Error(`spool ${this.file} shrank while being read`);
    const digest = await chunkDigestOffThread(buf);
    this.recent.set(index, buf);
    for (const k of this.recent.keys()) if (k <= index - RECENT_CHUNKS) this.recent.delete(k);
    this.digests.push(digest);
  }

  /** Chunk `index` if it was cut lately (a receiver following the send live is served from memory). */
  recentChunk(index: number): Buffer | undefined {
    return this.recent.get(index);
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value)}\n`);
  await rename(tmp, file);
}
