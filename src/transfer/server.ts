// The sending end of agent-to-agent transfers: HTTPS (koa) with mutual TLS, node- certificates of
// this cluster only (refused at the handshake otherwise). A receiver asks for a stream (the
// sender snapshots, picks the newest common parent and starts `btrfs send` into a spool), then
// fetches it in verified chunks from any chunk boundary, while the send is still running.
// No planning here: whether to serve is decided by the pool's facts (exposed? handed off to whom?).
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { open, readdir, rm } from 'node:fs/promises';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import type { SnapshotPool } from '../backends/p2p/pool-api.js';
import { UserError, errorMessage } from '../errors.js';
import { KeyedQueue } from '../keyed-queue.js';
import type { Logger } from '../log.js';
import { recordTransferBytes } from '../metrics/registry.js';
import { asDatasetId, isUuidV4, shortId, type DatasetId } from '../model/ids.js';
import { peerIdentity, refuseOtherPeers, serverTlsOptions, type TlsMaterial } from '../tls/options.js';
import { OutgoingStream, outgoingDir } from './outgoing.js';
import {
  CHUNK_BYTES, DEFAULT_TRANSFER_PORT, KEEPALIVE_FRAME, NAME_RE, STREAM_RE, dataHeader, endFrame, errorFrame, streamId,
  type StreamOffer, type StreamRequest,
} from './protocol.js';

/** Test-only fault: flip one byte at this stream offset, once per process, in what is sent. */
export const CORRUPT_ENV = 'FLOCKER_TEST_CORRUPT_TRANSFER';

export interface TransferServerOptions {
  readonly pool: SnapshotPool;
  /** This node's certificate material (node.crt, node.key, cluster.crt). */
  readonly tls: TlsMaterial;
  readonly port?: number;
  readonly listen?: string;
  readonly log: Logger;
  /** How long a GET waits for the spool to grow before sending a keepalive frame. */
  readonly keepaliveMs?: number;
  /** Defaults to $FLOCKER_TEST_CORRUPT_TRANSFER. */
  readonly corruptOnceAt?: number;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const IDLE_SOCKET_MS = 60_000;

async function readJson(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'request body too large');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

function parseRequest(body: unknown): StreamRequest {
  const b = body as { final?: unknown; have?: unknown } | null;
  if (typeof b !== 'object' || b === null || typeof b.final !== 'boolean' || !Array.isArray(b.have)) {
    throw new HttpError(400, 'expected {"final": boolean, "have": [snapshot names]}');
  }
  const have = b.have as unknown[];
  if (have.length > 10_000 || !have.every((n): n is string => typeof n === 'string' && NAME_RE.test(n))) {
    throw new HttpError(400, '"have" must list snapshot names (letters, digits, "_" and "-")');
  }
  return { final: b.final, have };
}

function datasetParam(ctx: Context): DatasetId {
  const id = String(ctx['params']?.id ?? '');
  if (!isUuidV4(id)) throw new HttpError(400, `${JSON.stringify(id)} is not a dataset id`);
  return asDatasetId(id);
}

function requesterOf(ctx: Context): string {
  const id = peerIdentity(ctx.req.socket as TLSSocket);
  // refuseOtherPeers admits only node- certificates; one without a UUID cannot be handed anything.
  if (!id?.nodeUuid) throw new HttpError(403, 'a node certificate (CN node-<uuid>) is required');
  return id.nodeUuid;
}

export class TransferServer {
  private readonly streams = new Map<string, OutgoingStream>();
  /** One request at a time per dataset: a final snapshot and its hand-off marker are one step. */
  private readonly perDataset = new KeyedQueue();
  private corruptAt: number | undefined;
  private closed = false;

  private readonly server: Server;
  private boundPort = 0;

  private constructor(private readonly o: TransferServerOptions) {
    const app = new Koa();
    app.silent = true;
    this.routes(app);
    this.server = createServer(serverTlsOptions(o.tls), app.callback());
    // A receiver that vanished (link down) holds a stream blocked on backpressure: drop it after a
    // minute without any progress. Keepalive frames keep a slow but live stream going.
    this.server.setTimeout(IDLE_SOCKET_MS);
    refuseOtherPeers(this.server, 'node-', (reason, s) => o.log.warn({ peer: s.remoteAddress, reason }, 'refused a transfer connection'));
    // Foreign CA or no certificate: the handshake itself fails. Log it: a misconfigured peer, or a probe.
    this.server.on('tlsClientError', (e, s) => o.log.warn({ peer: s.remoteAddress, err: e.message }, 'refused a transfer connection at the TLS handshake'));
    const fromEnv = process.env[CORRUPT_ENV];
    this.corruptAt = o.corruptOnceAt ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : undefined);
  }

  static async start(o: TransferServerOptions): Promise<TransferServer> {
    const t = new TransferServer(o);
    t.boundPort = await listen(t.server, o.port ?? DEFAULT_TRANSFER_PORT, o.listen ?? '0.0.0.0');
    o.log.info({ port: t.boundPort, listen: o.listen ?? '0.0.0.0' }, 'transfer server listening');
    return t;
  }

  /** The port listened on (the configured one, or the one the system chose for port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** Drop every outgoing spool of the dataset (its copy here is gone or no longer wanted). */
  async forget(datasetId: string): Promise<void> {
    for (const [key, s] of this.streams) {
      if (s.meta.dataset !== datasetId) continue;
      this.streams.delete(key);
      await s.remove();
    }
    await rm(outgoingDir(this.o.pool, datasetId), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    await Promise.all([...this.streams.values()].map((s) => s.stop()));
    this.streams.clear();
  }

  private routes(app: Koa): void {
    const router = new Router();
    router.post('/v1/datasets/:id/streams', async (ctx) => {
      const dataset = datasetParam(ctx);
      const requester = requesterOf(ctx);
      const req = parseRequest(await readJson(ctx));
      const offer = await this.perDataset.run(dataset, () => this.offer(dataset, requester, req));
      ctx.status = offer.stream === null ? 200 : 201;
      ctx.body = offer;
    });
    router.get('/v1/datasets/:id/streams/:stream', async (ctx) => {
      const dataset = datasetParam(ctx);
      const stream = String(ctx['params']?.stream ?? '');
      if (!STREAM_RE.test(stream)) throw new HttpError(400, `${JSON.stringify(stream)} is not a stream id`);
      const offset = Number(ctx.query['offset'] ?? 0);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset % CHUNK_BYTES !== 0) {
        throw new HttpError(400, `offset must be a multiple of ${CHUNK_BYTES} (a chunk boundary)`);
      }
      const s = await this.perDataset.run(dataset, () => this.find(dataset, stream));
      if (!s) throw new HttpError(404, `no stream ${stream} of dataset ${dataset} here; ask for a new one`);
      if (s.complete && offset > s.complete.length) throw new HttpError(416, `offset ${offset} is past the end of the stream (${s.complete.length} bytes)`);
      this.o.log.debug({ dataset, stream, offset, requester: peerIdentity(ctx.req.socket as TLSSocket)?.cn }, 'serving a stream');
      const abort = new AbortController();
      ctx.req.socket.once('close', () => abort.abort());
      ctx.type = 'application/octet-stream';
      ctx.body = Readable.from(this.frames(s, offset / CHUNK_BYTES, abort.signal), { objectMode: true, highWaterMark: 4 });
    });
    router.delete('/v1/datasets/:id/streams/:stream', async (ctx) => {
      const dataset = datasetParam(ctx);
      const stream = String(ctx['params']?.stream ?? '');
      if (!STREAM_RE.test(stream)) throw new HttpError(400, `${JSON.stringify(stream)} is not a stream id`);
      await this.perDataset.run(dataset, async () => {
        const s = await this.find(dataset, stream, false);
        this.streams.delete(`${dataset}/${stream}`);
        await s?.remove();
      });
      ctx.status = 204;
    });

    app.use(async (ctx, next) => {
      try {
        await next();
        if (ctx.body === undefined || ctx.body === null) {
          if (ctx.status === 404) throw new HttpError(404, 'not found');
          if (ctx.status === 405) throw new HttpError(405, 'method not allowed');
        }
      } catch (e) {
        ctx.type = 'application/json';
        if (e instanceof HttpError) {
          ctx.status = e.status;
          ctx.body = { description: e.message };
        } else {
          this.o.log.error({ err: e, method: ctx.method, path: ctx.path }, 'transfer request failed');
          ctx.status = 500;
          ctx.body = { description: `the sender failed: ${errorMessage(e)}` };
        }
      }
    });
    app.use(router.routes());
    app.use(router.allowedMethods());
  }

  private async offer(dataset: DatasetId, requester: string, req: StreamRequest): Promise<StreamOffer> {
    const pool = this.o.pool;
    const holdings = (await pool.inventory()).get(dataset);
    if (!holdings?.live) throw new HttpError(404, `this node holds no live copy of dataset ${dataset}`);
    const handed = await pool.handedOff(dataset);
    let snapshot: string;
    let final = req.final;
    if (handed) {
      if (handed.to !== requester) {
        throw new HttpError(409, `dataset ${dataset} was handed off to node ${shortId(handed.to)}; pull it from there`);
      }
      // The same receiver asking again (it restarted, or lost its spool): the same final snapshot.
      snapshot = handed.snapshot;
      final = true;
    } else if (req.final) {
      if (await pool.isExposed(dataset)) {
        throw new HttpError(409, `dataset ${dataset} is still attached or mounted on this node; the final copy is served only after the hand-off unmount`);
      }
      snapshot = await pool.snapshot(dataset);
      // Before anything is sent: from here on this copy is never mounted again.
      await pool.markHandedOff(dataset, requester, snapshot);
      this.o.log.info({ dataset, to: requester, snapshot }, 'dataset handed off; serving the final snapshot');
    } else {
      snapshot = await pool.snapshot(dataset);
    }
    if (req.have.includes(snapshot)) return { stream: null, snapshot, parent: null, estimated_bytes: 0, final };
    const snaps = await pool.snapshots(dataset);
    const mine = new Set([...snaps.local, ...snaps.received]);
    // Names sort by age: the newest common snapshot older than the one sent is the best parent.
    const common = req.have.filter((n) => mine.has(n) && n < snapshot).sort();
    const parent = common.length > 0 ? common[common.length - 1]! : null;
    const id = streamId(snapshot, parent);
    const key = `${dataset}/${id}`;
    // Known (the same receiver asking again): served as it is, regenerated if its send was cut short.
    let s = await this.find(dataset, id);
    if (!s || s.failure) {
      await s?.remove();
      s = await OutgoingStream.create(pool, { version: 1, dataset, stream: id, snapshot, parent, requester, final }, this.o.log);
      this.streams.set(key, s);
    }
    await this.pruneOlder(dataset, requester, key);
    return { stream: id, snapshot, parent, estimated_bytes: parent === null ? await pool.allocatedBytes(dataset) : null, final };
  }

  /** A receiver moved on to a newer stream: the older ones it was sent are of no use to anyone. */
  private async pruneOlder(dataset: string, requester: string, keep: string): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(outgoingDir(this.o.pool, dataset));
    } catch {
      return;
    }
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const id = n.slice(0, -'.json'.length);
      const key = `${dataset}/${id}`;
      if (key === keep || !STREAM_RE.test(id)) continue;
      const s = await this.find(dataset, id, false);
      if (s && s.meta.requester === requester) {
        this.streams.delete(key);
        await s.remove();
      }
    }
  }

  /** The stream in memory, else from its spool meta (regenerated when incomplete if `regenerate`). */
  private async find(dataset: string, stream: string, regenerate = true): Promise<OutgoingStream | undefined> {
    const key = `${dataset}/${stream}`;
    const known = this.streams.get(key);
    if (known) return known;
    if (!regenerate) return OutgoingStream.peek(this.o.pool, dataset, stream, this.o.log);
    const s = await OutgoingStream.load(this.o.pool, dataset, stream, this.o.log);
    if (s) this.streams.set(key, s);
    return s;
  }

  private async *frames(s: OutgoingStream, firstChunk: number, signal: AbortSignal): AsyncGenerator<Buffer> {
    const fh = await open(s.file, 'r');
    try {
      let k = firstChunk;
      while (!signal.aborted) {
        const length = s.chunkLength(k);
        if (length !== undefined) {
          const at = k * CHUNK_BYTES;
          let data = s.recentChunk(k);
          if (data === undefined || data.length !== length) {
            data = Buffer.allocUnsafe(length);
            const { bytesRead } = await fh.read(data, 0, length, at);
            if (bytesRead !== length) {
              yield errorFrame(`the sender's spool is shorter than expected at ${at}`);
              return;
            }
          }
          data = this.maybeCorrupt(data, at);
          yield dataHeader(at, length, s.complete?.length ?? 0);
          yield data;
          yield s.digests[k]!;
          recordTransferBytes('sent', length);
          k++;
          continue;
        }
        if (s.complete) {
          yield endFrame(s.complete.length, s.complete.root);
          return;
        }
        if (s.failure) {
          yield errorFrame(s.failure);
          return;
        }
        const before = s.digests.length;
        await s.progress(this.o.keepaliveMs ?? 5_000, signal);
        if (s.digests.length === before && !s.complete && !s.failure) yield KEEPALIVE_FRAME;
      }
    } finally {
      await fh.close();
    }
  }

  /** The chunk as sent: a copy with one byte flipped when the test fault is armed for it. */
  private maybeCorrupt(data: Buffer, at: number): Buffer {
    const c = this.corruptAt;
    if (c === undefined || c < at || c >= at + data.length) return data;
    this.corruptAt = undefined;
    const bad = Buffer.from(data);
    bad[c - at] = bad[c - at]! ^ 0xff;
    this.o.log.warn({ offset: c }, `${CORRUPT_ENV}: flipped one byte in what is sent (test fault)`);
    return bad;
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why = e.code === 'EADDRINUSE' ? 'the port is already in use (another agent on this host?)'
        : e.code === 'EACCES' ? 'permission denied'
        : e.code === 'EADDRNOTAVAIL' ? 'no such address on this host'
        : e.message;
      reject(new UserError(`the agent cannot serve transfers on ${host}:${port}: ${why}; choose another with dataset.transfer.port (and .listen) in agent.yml`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
