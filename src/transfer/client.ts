// The receiving end of agent-to-agent transfers: ask a peer for a stream of a dataset, download it
// into a spool in the local pool with every chunk verified as it arrives, check the whole-stream
// digest, then `btrfs receive` it. This module is the pull's state machine (resume or ask anew,
// retry, give up); the spool and its bookkeeping are incoming-spool.ts's, the requests to the
// peer peer-client.ts's, the progress reports progress-meter.ts's.
import { mkdir, type FileHandle } from 'node:fs/promises';
import type { SnapshotPool } from '../backends/p2p/pool-api.js';
import { abortableSleep } from '../abortable-sleep.js';
import { Backoff, type BackoffOptions } from '../client/backoff.js';
import { errorMessage } from '../errors.js';
import { KeyedQueue } from '../keyed-queue.js';
import { silentLogger, type Logger } from '../log.js';
import { recordTransferBytes } from '../metrics/registry.js';
import { shortId, type DatasetId } from '../model/ids.js';
import { formatSize } from '../model/size.js';
import type { TlsMaterial } from '../tls/options.js';
import { TransferError } from './errors.js';
import { ChunkWriter, CorruptChunk, IncomingSpool, incomingFiles, type IncomingState } from './incoming-spool.js';
import { PeerClient, SenderFailed, describe, isIdentityError, readJson, type TransferPeer } from './peer-client.js';
import { ProgressMeter, type TransferProgress } from './progress-meter.js';
import { FrameParser, NAME_RE, STREAM_RE, rootDigest, streamPath, streamsPath, type StreamOffer } from './protocol.js';

export type { TransferPeer } from './peer-client.js';
export type { TransferProgress } from './progress-meter.js';

export interface PullOptions {
  readonly pool: SnapshotPool;
  /** This node's certificate material. */
  readonly tls: TlsMaterial;
  readonly peer: TransferPeer;
  readonly datasetId: DatasetId;
  /** The hand-off copy (the source must have unmounted) rather than a pre-copy. */
  readonly final: boolean;
  readonly onProgress?: (p: TransferProgress) => void;
  readonly signal?: AbortSignal;
  readonly log?: Logger;
  /** A connection that carries nothing (not even keepalives) this long is dropped and retried. */
  readonly idleTimeoutMs?: number;
  /** Give up (TransferError 'unreachable') after this long without a verified chunk. The spool stays for the next pull. */
  readonly giveUpAfterMs?: number;
  readonly backoff?: BackoffOptions;
  /** Give up ('corrupt') when the same chunk fails its digest this many times in a row. */
  readonly maxChunkRetries?: number;
}

export interface PullResult {
  /** The received snapshot (now in the local pool's received snapshots). */
  readonly snapshot: string;
  /** Bytes that crossed the network in this call (verified chunks only). */
  readonly bytesReceived: number;
  /** Length of the stream; 0 when the local pool already had the snapshot. */
  readonly bytesTotal: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 5_000 };
// A stream that fails its whole-stream digest this often points at the sender, not the network.
const MAX_STREAM_ATTEMPTS = 3;

/** Pull the dataset's newest snapshot (pre-copy) or its final snapshot from the peer into the local pool. */
export async function pullDataset(o: PullOptions): Promise<PullResult> {
  return running.run(incomingFiles(o.pool, o.datasetId).state, () => new Pull(o).run());
}

/** One pull per dataset and pool at a time: two would share (and clobber) one spool. */
const running = new KeyedQueue();

export interface PreCopyResult {
  /** The newest snapshot now held as a replica. */
  readonly snapshot: string;
  readonly rounds: readonly PullResult[];
}

/**
 * Pre-copy while the source stays in use: pull, then pull again incrementally while each round
 * moves less than the one before (at most `maxRounds`, stopping once a round moved under
 * `smallBytes`), so the final hand-off has only a little left to send.
 */
export async function preCopy(o: Omit<PullOptions, 'final'> & { readonly maxRounds?: number; readonly smallBytes?: number }): Promise<PreCopyResult> {
  const maxRounds = o.maxRounds ?? 3;
  const small = o.smallBytes ?? 8 * 1024 * 1024;
  const rounds: PullResult[] = [];
  let previous = Infinity;
  for (let i = 0; i < maxRounds; i++) {
    const r = await pullDataset({ ...o, final: false });
    rounds.push(r);
    if (r.bytesTotal < small || r.bytesTotal >= previous) break;
    previous = r.bytesTotal;
  }
  return { snapshot: rounds[rounds.length - 1]!.snapshot, rounds };
}

class Pull {
  private readonly log: Logger;
  private readonly spool: IncomingSpool;
  private readonly peer: PeerClient;
  private readonly signal: AbortSignal;
  private readonly backoff: Backoff;
  private bytesReceived = 0;
  private readonly progress: ProgressMeter;

  constructor(private readonly o: PullOptions) {
    this.log = (o.log ?? silentLogger()).child({ dataset: o.datasetId, peer: shortId(o.peer.nodeUuid) });
    this.spool = new IncomingSpool(o.pool, o.datasetId);
    this.signal = o.signal ?? new AbortController().signal;
    this.peer = new PeerClient(o.tls, o.peer, this.signal, o.idleTimeoutMs ?? 30_000);
    this.backoff = new Backoff(o.backoff ?? DEFAULT_BACKOFF);
    this.progress = new ProgressMeter(o.onProgress);
  }

  async run(): Promise<PullResult> {
    await mkdir(this.o.pool.spoolDir, { recursive: true });
    let state = await this.spool.load();
    if (state && state.peer.node !== this.o.peer.nodeUuid.toLowerCase()) {
      this.log.info({ stream: state.stream, from: state.peer.node }, 'dropping an unfinished pull from another node');
      await this.spool.discard();
      state = undefined;
    }
    if (state) {
      this.log.info({ stream: state.stream, verified: state.verified }, 'resuming an unfinished pull');
      const r = await this.complete(state);
      // A resumed pre-copy is a fine parent for the final that is wanted now.
      if (r && (state.final || !this.o.final)) return r;
    }
    for (let attempt = 1; ; attempt++) {
      this.checkAborted();
      const offer = await this.ask();
      if (offer.stream === null) return { snapshot: offer.snapshot, bytesReceived: this.bytesReceived, bytesTotal: 0 };
      if (!NAME_RE.test(offer.snapshot) || !STREAM_RE.test(offer.stream)) {
        throw new TransferError('failed', `node ${shortId(this.o.peer.nodeUuid)} offered a malformed stream ${JSON.stringify(offer.stream)}`);
      }
      await this.checkSpace(offer);
      const fresh: IncomingState = {
        version: 1, dataset: this.o.datasetId,
        peer: { host: this.o.peer.host, port: this.o.peer.port, node: this.o.peer.nodeUuid.toLowerCase() },
        stream: offer.stream, snapshot: offer.snapshot, parent: offer.parent, final: offer.final,
        estimated: offer.estimated_bytes, verified: 0, chunks: [], done: false,
      };
      await this.spool.begin(fresh);
      const r = await this.complete(fresh);
      if (r) return r;
      if (attempt >= MAX_STREAM_ATTEMPTS) {
        throw new TransferError('failed', `the stream of dataset ${this.o.datasetId} from node ${shortId(this.o.peer.nodeUuid)} failed ${attempt} times; see the agent log`);
      }
    }
  }

  /** Download (the rest of) the stream and receive it; undefined when the stream must be asked for anew. */
  private async complete(state: IncomingState): Promise<PullResult | undefined> {
    if (!state.done) {
      const outcome = await this.download(state);
      if (outcome !== 'ok') {
        await this.spool.discard();
        return undefined;
      }
    }
    return this.receive(state);
  }

  private async receive(state: IncomingState): Promise<PullResult> {
    const pool = this.o.pool;
    const id = this.o.datasetId;
    // Received before a restart, when only the clean-up was left.
    if (!(await pool.snapshots(id)).received.includes(state.snapshot)) {
      let name: string;
      try {
        name = await pool.receiveFile(id, this.spool.stream);
      } catch (e) {
        // Not a transfer problem: the stream was verified. Asking anew (maybe against another parent) is the way out.
        await this.spool.discard();
        throw new TransferError('failed', `receiving dataset ${id} into this node's pool failed: ${errorMessage(e)}`);
      }
      if (name !== state.snapshot) this.log.warn({ expected: state.snapshot, got: name }, 'btrfs received a snapshot under another name');
    }
    await this.spool.discard();
    // The sender may drop its spool now; if this fails it is replaced by the next stream anyway.
    await this.peer.call('DELETE', streamPath(id, state.stream)).catch((e: unknown) => this.log.debug({ err: errorMessage(e) }, 'could not tell the sender to drop its spool'));
    this.progress.report(state.verified, state.verified, true);
    this.log.info({ snapshot: state.snapshot, parent: state.parent, bytes: state.verified, network: this.bytesReceived }, 'pulled a snapshot');
    return { snapshot: state.snapshot, bytesReceived: this.bytesReceived, bytesTotal: state.verified };
  }

  private async checkSpace(offer: StreamOffer): Promise<void> {
    if (offer.estimated_bytes === null) return;
    // The spooled stream and the data it becomes both live in the pool until the spool is dropped.
    const need = 2 * offer.estimated_bytes;
    const free = await this.o.pool.freeBytes();
    if (free < need) {
      await this.peer.call('DELETE', streamPath(this.o.datasetId, offer.stream!)).catch(() => undefined);
      throw new TransferError('no-space',
        `not enough space on this node for dataset ${this.o.datasetId}: the copy needs about ${formatSize(need, 'short')} (${need} bytes: the stream spooled, then received) and the pool has ${formatSize(free, 'short')} (${free} bytes) free`);
    }
  }

  /** POST for a stream, retrying while the peer is unreachable. */
  private async ask(): Promise<StreamOffer> {
    // Only what this node received, never its own snapshots: btrfs receive (progs 6.2) finds the
    // source of a clone by received UUID only, so a stream relative to a snapshot this node made
    // itself (a dataset moving back) fails with "clone: did not find source subvol". Moving back
    // thus starts with a full pre-copy; the final is incremental from it as usual.
    const have = [...(await this.o.pool.snapshots(this.o.datasetId)).received];
    const body = JSON.stringify({ final: this.o.final, have });
    return this.retrying(async () => {
      const r = await this.peer.call('POST', streamsPath(this.o.datasetId), body);
      if (r.status === 200 || r.status === 201) return r.json as StreamOffer;
      throw this.peer.refusal(r.status, r.json);
    });
  }

  /**
   * Fetch frames from the verified offset until the end frame, reconnecting with backoff.
   * 'ok': complete and the root digest matched; 'restart': the sender lost the stream or the
   * digest did not match, so it must be asked for anew.
   */
  private async download(state: IncomingState): Promise<'ok' | 'restart'> {
    const fh = await this.spool.openAt(state.verified);
    try {
      this.progress.start(state.verified, state.estimated);
      let badChunk = { offset: -1, times: 0 };
      const r = await this.retrying(async () => {
        try {
          return await this.fetch(state, fh);
        } catch (e) {
          if (e instanceof CorruptChunk) {
            badChunk = badChunk.offset === e.offset ? { offset: e.offset, times: badChunk.times + 1 } : { offset: e.offset, times: 1 };
            if (badChunk.times >= (this.o.maxChunkRetries ?? 5)) {
              throw new TransferError('corrupt', `the chunk at ${e.offset} of dataset ${this.o.datasetId}'s stream from node ${shortId(this.o.peer.nodeUuid)} arrived corrupted ${badChunk.times} times in a row`);
            }
            this.log.warn({ offset: e.offset, stream: state.stream }, 'a chunk failed its digest (corrupted in transit); fetching it again');
          }
          throw e;
        }
      });
      if (r.kind === 'gone') {
        this.log.warn({ stream: state.stream, reason: r.reason }, 'the sender cannot serve this stream any more; asking for a new one');
        return 'restart';
      }
      const root = rootDigest(r.total, state.chunks.map((c) => Buffer.from(c, 'hex')));
      if (r.total !== state.verified || !root.equals(r.root)) {
        this.log.error({ stream: state.stream, total: r.total, verified: state.verified }, 'the whole-stream digest does not match what was verified chunk by chunk; asking for the stream again');
        return 'restart';
      }
      await fh.datasync();
      state.done = true;
      await this.spool.save(state);
      return 'ok';
    } finally {
      this.progress.stop();
      await fh.close();
    }
  }

  /** One GET from state.verified. Returns at the end frame; throws (to be retried) on anything else. */
  private async fetch(state: IncomingState, fh: FileHandle): Promise<{ kind: 'end'; total: number; root: Buffer } | { kind: 'gone'; reason: string }> {
    const res = await this.peer.get(`${streamPath(this.o.datasetId, state.stream)}?offset=${state.verified}`);
    if (res.statusCode !== 200) {
      const json = await readJson(res);
      if (res.statusCode === 404 || res.statusCode === 416) return { kind: 'gone', reason: describe(json, res.statusCode) };
      throw this.peer.refusal(res.statusCode ?? 0, json);
    }
    const parser = new FrameParser();
    // Verified chunks are written and recorded in order, behind the network: reading the next
    // chunk does not wait for the disk unless WRITES_AHEAD chunks are already waiting.
    const writer = new ChunkWriter(fh, state, (len, knownTotal) => {
      this.bytesReceived += len;
      recordTransferBytes('received', len);
      this.backoff.reset();
      this.progress.report(state.verified, knownTotal);
    }, () => this.spool.save(state));
    let next = state.verified;
    try {
      for await (const piece of res as AsyncIterable<Buffer>) {
        for (const f of parser.push(piece)) {
          switch (f.kind) {
            case 'keepalive':
              break;
            case 'error':
              await writer.drain();
              return { kind: 'gone', reason: f.message };
            case 'end':
              await writer.drain();
              return { kind: 'end', total: f.total, root: f.root };
            case 'data': {
              if (f.offset !== next) throw new Error(`the sender sent offset ${f.offset}, expected ${next}`);
              next += f.data.length;
              await writer.add(f.data, f.offset, f.digest, f.knownTotal);
              break;
            }
          }
        }
      }
    } finally {
      res.destroy();
      // Whatever happened to the connection, what was verified is on disk and recorded before a retry.
      await writer.drain();
    }
    throw new Error('the connection closed before the end of the stream');
  }

  /** Run `f` until it returns, retrying retryable failures with backoff until giveUpAfterMs without progress. */
  private async retrying<T>(f: () => Promise<T>): Promise<T> {
    const giveUpMs = this.o.giveUpAfterMs ?? 60_000;
    let lastProgress = Date.now();
    let progressMark = this.bytesReceived;
    for (;;) {
      this.checkAborted();
      try {
        return await f();
      } catch (e) {
        this.checkAborted();
        if (e instanceof TransferError) throw e;
        if (this.bytesReceived !== progressMark) {
          progressMark = this.bytesReceived;
          lastProgress = Date.now();
        }
        const why = errorMessage(e);
        if (isIdentityError(e)) {
          throw new TransferError('refused', `the transfer peer at ${this.o.peer.host}:${this.o.peer.port} is not node ${this.o.peer.nodeUuid} of this cluster: ${why}`);
        }
        if (Date.now() - lastProgress > giveUpMs) {
          // A sender that answers with errors is failing, not unreachable.
          const failure = e instanceof SenderFailed ? 'failed' : 'unreachable';
          throw new TransferError(failure, `node ${shortId(this.o.peer.nodeUuid)} (${this.o.peer.host}:${this.o.peer.port}) did not deliver dataset ${this.o.datasetId} for ${Math.round(giveUpMs / 1000)} s: ${why}; the transfer resumes from what is verified on the next try`);
        }
        const wait = this.backoff.next();
        if (!(e instanceof CorruptChunk)) this.log.warn({ err: why, retryInMs: wait }, 'transfer interrupted; retrying');
        await abortableSleep(e instanceof CorruptChunk ? 0 : wait, this.signal);
      }
    }
  }

  private checkAborted(): void {
    if (this.signal.aborted) throw new TransferError('failed', `the pull of dataset ${this.o.datasetId} was stopped`);
  }
}
