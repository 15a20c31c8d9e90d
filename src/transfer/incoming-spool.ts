// The receiving side's spool: the stream being downloaded, and a small JSON beside it recording
// what of it is verified. Everything a resumed pull needs survives here, so a dropped connection or
// a restart of either side continues from the last verified chunk instead of from the start.
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotPool } from '../backends/p2p/pool-api.js';
import { errorMessage } from '../errors.js';
import { writeJsonAtomic } from './outgoing.js';
import { TransferError } from './errors.js';
import { chunkDigestOffThread } from './protocol.js';

/** What a resumable download has verified so far; saved beside the spool after every chunk. */
export interface IncomingState {
  readonly version: 1;
  readonly dataset: string;
  readonly peer: { readonly host: string; readonly port: number; readonly node: string };
  readonly stream: string;
  readonly snapshot: string;
  readonly parent: string | null;
  readonly final: boolean;
  readonly estimated: number | null;
  verified: number;
  chunks: string[];
  /** The whole stream is here and its root digest matched. */
  done: boolean;
}

/** Named `<dataset_id>…` as the pool expects, so destroying the dataset also drops its spool. */
export function incomingFiles(pool: Pick<SnapshotPool, 'spoolDir'>, datasetId: string): { readonly stream: string; readonly state: string } {
  return { stream: join(pool.spoolDir, `${datasetId}.in.stream`), state: join(pool.spoolDir, `${datasetId}.in.json`) };
}

export class IncomingSpool {
  readonly stream: string;
  private readonly stateFile: string;

  constructor(pool: Pick<SnapshotPool, 'spoolDir'>, private readonly datasetId: string) {
    const files = incomingFiles(pool, datasetId);
    this.stream = files.stream;
    this.stateFile = files.state;
  }

  /** The unfinished download of this dataset, if a readable one is here; anything else is as good as none. */
  async load(): Promise<IncomingState | undefined> {
    try {
      const s = JSON.parse(await readFile(this.stateFile, 'utf8')) as IncomingState;
      if (s.version !== 1 || s.dataset !== this.datasetId || !Array.isArray(s.chunks)) return undefined;
      return s;
    } catch {
      return undefined;
    }
  }

  save(s: IncomingState): Promise<void> {
    return writeJsonAtomic(this.stateFile, s);
  }

  /** Begins `s` afresh: no bytes of an earlier stream may be taken for this one's. */
  async begin(s: IncomingState): Promise<void> {
    await rm(this.stream, { force: true });
    await this.save(s);
  }

  /** The stream file cut back to what is verified: anything past that offset is fetched again. */
  async openAt(verified: number): Promise<FileHandle> {
    // 'a+' creates it without truncating; 'r+' then allows writes at an offset.
    await (await open(this.stream, 'a+')).close();
    const fh = await open(this.stream, 'r+');
    try {
      await fh.truncate(verified);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return fh;
  }

  async discard(): Promise<void> {
    await rm(this.stream, { force: true });
    await rm(this.stateFile, { force: true });
  }
}

/** A chunk whose digest did not match: fetched again, with no backoff (the network is up). */
export class CorruptChunk extends Error {
  constructor(readonly offset: number) {
    super(`the chunk at ${offset} failed its digest`);
  }
}

// Enough to keep the network busy while the disk catches up; more only holds memory.
const WRITES_AHEAD = 2;

/**
 * Verifies chunks (digests on the thread pool, while the next chunk arrives), then writes them in
 * order; each is recorded in the state (and saved) only once it is verified and written. After a
 * corrupted chunk nothing more is written: it and whatever followed it are fetched again.
 */
export class ChunkWriter {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private failed: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly state: IncomingState,
    private readonly onWritten: (length: number, knownTotal: number) => void,
    private readonly save: () => Promise<void>,
  ) {}

  async add(data: Buffer, offset: number, digest: Buffer, knownTotal: number): Promise<void> {
    if (this.failed !== undefined) return this.drain();
    this.queued++;
    const computed = chunkDigestOffThread(data);
    this.chain = this.chain.then(async () => {
      try {
        if (this.failed !== undefined) return;
        if (!(await computed).equals(digest)) {
          this.failed = new CorruptChunk(offset);
          return;
        }
        await this.fh.write(data, 0, data.length, offset);
        this.state.verified += data.length;
        this.state.chunks.push(digest.toString('hex'));
        await this.save();
        this.onWritten(data.length, knownTotal);
      } catch (e) {
        this.failed = new TransferError('failed', `writing the transfer spool failed: ${errorMessage(e)}`);
      } finally {
        this.queued--;
      }
    });
    if (this.queued > WRITES_AHEAD) await this.chain;
    if (this.failed !== undefined) await this.drain();
  }

  /** Wait for every queued chunk; throws CorruptChunk (retried) or a TransferError (a local disk problem). */
  async drain(): Promise<void> {
    await this.chain;
    if (this.failed !== undefined) throw this.failed;
  }
}
