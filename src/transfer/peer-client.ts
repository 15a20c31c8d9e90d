// HTTPS requests from a pulling node to the sending node's transfer server, and how their answers
// are classified: what retrying may change (a failing sender, a dropped connection) and what it
// cannot (a refusal, a peer that is not the node we meant). The pull decides what to do about each.
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { shortId } from '../model/ids.js';
import type { TlsMaterial } from '../tls/options.js';
import { TransferError } from './errors.js';
import { transferClientTls } from './tls.js';

export interface TransferPeer {
  readonly host: string;
  readonly port: number;
  /** The node we mean to pull from: its certificate must say node-<uuid>. */
  readonly nodeUuid: string;
}

/** The sender answered 5xx: retried like a dropped connection, reported as its failure. */
export class SenderFailed extends Error {}

// An answer is a short JSON document; anything longer is not one.
const MAX_JSON_BYTES = 1024 * 1024;

export class PeerClient {
  constructor(
    private readonly tls: TlsMaterial,
    readonly peer: TransferPeer,
    private readonly signal: AbortSignal,
    private readonly idleTimeoutMs: number,
  ) {}

  /** A GET whose body (a frame stream) the caller reads; a connection idle for idleTimeoutMs fails. */
  get(path: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(this.requestOptions('GET', path), resolve);
      req.on('timeout', () => req.destroy(new Error(`no data from the sender for ${Math.round(this.idleTimeoutMs / 1000)} s`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** A request answered with a JSON document (null when it is not one). */
  call(method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request(this.requestOptions(method, path), (res) => {
        readJson(res).then((json) => resolve({ status: res.statusCode ?? 0, json }), reject);
      });
      req.on('timeout', () => req.destroy(new Error('the sender did not answer in time')));
      req.on('error', reject);
      if (body !== undefined) req.setHeader('Content-Type', 'application/json');
      req.end(body);
    });
  }

  /** A TransferError for an answer that retrying cannot change; a plain (retried) Error for a failing sender. */
  refusal(status: number, json: unknown): Error {
    const text = `node ${shortId(this.peer.nodeUuid)} refused: ${describe(json, status)}`;
    if (status >= 500) return new SenderFailed(text);
    return new TransferError(status === 409 ? 'refused' : 'failed', text, status);
  }

  private requestOptions(method: string, path: string): RequestOptions {
    return {
      ...transferClientTls(this.tls, this.peer.nodeUuid),
      host: this.peer.host,
      port: this.peer.port,
      method,
      path,
      // A fresh connection each time: a pooled one may be the very connection that just stalled.
      agent: false,
      signal: this.signal,
      timeout: this.idleTimeoutMs,
    };
  }
}

/** The peer's certificate is not the node we asked for (or not of this cluster): retrying cannot help. */
export function isIdentityError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'ERR_TRANSFER_PEER_IDENTITY' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'SELF_SIGNED_CERT_IN_CHAIN'
    || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' || code === 'CERT_SIGNATURE_FAILURE';
}

/** The sender's own words for an error answer, else its status. */
export function describe(json: unknown, status: number | undefined): string {
  const d = (json as { description?: unknown } | null)?.description;
  return typeof d === 'string' ? d : `HTTP ${status ?? '?'}`;
}

export async function readJson(res: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_JSON_BYTES) break;
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
