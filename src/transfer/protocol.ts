// The wire of agent-to-agent transfers (both ends import this; nothing here does I/O).
//
//   POST   /v1/datasets/<id>/streams            {final, have}  → StreamOffer (201), or {description} (4xx)
//   GET    /v1/datasets/<id>/streams/<stream>?offset=N         → frames from chunk boundary N
//   DELETE /v1/datasets/<id>/streams/<stream>                  → 204: the receiver has it, drop the spool
//
// A stream is cut into CHUNK_BYTES chunks (the last may be shorter). The body of a GET is a
// sequence of frames, all integers big-endian:
//   'D' offset:u64 length:u32 knownTotal:u64  data[length]  sha256(data):32
//   'K'                                         keepalive while the sender's spool is still growing
//   'E' total:u64 root:32                       end; root = sha256(total:u64 ‖ digest0 ‖ digest1 ‖ …)
//   'X' length:u32 utf8[length]                 the sender failed (e.g. btrfs send); the text says why
// knownTotal is 0 while the sender is still producing the stream. The root binds every byte of
// the stream (each chunk's digest, in order, and the length) without the receiver re-reading
// what it verified earlier, e.g. after a restart.
import { createHash, webcrypto } from 'node:crypto';

export { DEFAULT_TRANSFER_PORT } from '../model/cluster-state.js';
export const CHUNK_BYTES = 4 * 1024 * 1024;
export const DIGEST_BYTES = 32;

export const FRAME_DATA = 0x44; // 'D'
export const FRAME_KEEPALIVE = 0x4b; // 'K'
export const FRAME_END = 0x45; // 'E'
export const FRAME_ERROR = 0x58; // 'X'
export const DATA_HEADER_BYTES = 1 + 8 + 4 + 8;
export const END_FRAME_BYTES = 1 + 8 + DIGEST_BYTES;

/** Snapshot names and stream ids travel in paths and file names: keep them to a safe alphabet. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const STREAM_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\.[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export interface StreamRequest {
  /** True for the hand-off copy: served only when the source's copy is not exposed. */
  readonly final: boolean;
  /** The snapshots the requester has received from earlier pulls (candidate parents). */
  readonly have: readonly string[];
}

export interface StreamOffer {
  /** Null when the requester already has `snapshot`: nothing to transfer. */
  readonly stream: string | null;
  readonly snapshot: string;
  readonly parent: string | null;
  /** Rough size of the stream in bytes; null when the sender cannot tell before sending (incremental). */
  readonly estimated_bytes: number | null;
  readonly final: boolean;
}

/** Deterministic, so a restarted sender regenerates the same stream from its id alone. */
export function streamId(snapshot: string, parent: string | null): string {
  return `${snapshot}.${parent ?? 'full'}`;
}

export function streamsPath(datasetId: string): string {
  return `/v1/datasets/${encodeURIComponent(datasetId)}/streams`;
}

export function streamPath(datasetId: string, stream: string): string {
  return `${streamsPath(datasetId)}/${encodeURIComponent(stream)}`;
}

export function chunkDigest(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The same digest, computed on libuv's thread pool (WebCrypto): the event loop stays free to
 * move TLS records meanwhile, which is most of what keeps a transfer near plain TLS speed.
 */
export async function chunkDigestOffThread(data: Uint8Array): Promise<Buffer> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data));
}

export function rootDigest(total: number, chunkDigests: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256');
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(total));
  h.update(len);
  for (const d of chunkDigests) h.update(d);
  return h.digest();
}

export function dataHeader(offset: number, length: number, knownTotal: number): Buffer {
  const b = Buffer.alloc(DATA_HEADER_BYTES);
  b[0] = FRAME_DATA;
  b.writeBigUInt64BE(BigInt(offset), 1);
  b.writeUInt32BE(length, 9);
  b.writeBigUInt64BE(BigInt(knownTotal), 13);
  return b;
}

export function endFrame(total: number, root: Uint8Array): Buffer {
  const b = Buffer.alloc(END_FRAME_BYTES);
  b[0] = FRAME_END;
  b.writeBigUInt64BE(BigInt(total), 1);
  Buffer.from(root).copy(b, 9);
  return b;
}

export function errorFrame(message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const b = Buffer.alloc(5);
  b[0] = FRAME_ERROR;
  b.writeUInt32BE(text.length, 1);
  return Buffer.concat([b, text]);
}

export const KEEPALIVE_FRAME = Buffer.from([FRAME_KEEPALIVE]);

export type Frame =
  | { readonly kind: 'data'; readonly offset: number; readonly data: Buffer; readonly digest: Buffer; readonly knownTotal: number }
  | { readonly kind: 'keepalive' }
  | { readonly kind: 'end'; readonly total: number; readonly root: Buffer }
  | { readonly kind: 'error'; readonly message: string };

/** Cuts a byte stream back into frames, whatever the read boundaries. Throws on garbage. */
export class FrameParser {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The data frame being filled: its header is read, its payload (+ digest) arrives in pieces. */
  private data: { offset: number; knownTotal: number; buf: Buffer; filled: number } | undefined;

  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (!f) return out;
      out.push(f);
    }
  }

  private take(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return head;
  }

  private next(): Frame | undefined {
    if (this.data) return this.fillData();
    if (this.pendingBytes === 0) return undefined;
    const type = this.pending[0]![0];
    switch (type) {
      case FRAME_KEEPALIVE:
        this.take(1);
        return { kind: 'keepalive' };
      case FRAME_END: {
        if (this.pendingBytes < END_FRAME_BYTES) return undefined;
        const b = this.take(END_FRAME_BYTES);
        return { kind: 'end', total: Number(b.readBigUInt64BE(1)), root: Buffer.from(b.subarray(9)) };
      }
      case FRAME_ERROR: {
        if (this.pendingBytes < 5) return undefined;
        const len = (this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending)).readUInt32BE(1);
        if (len > 64 * 1024) throw new Error('malformed transfer stream: oversized error frame');
        if (this.pendingBytes < 5 + len) return undefined;
        return { kind: 'error', message: this.take(5 + len).subarray(5).toString('utf8') };
      }
      case FRAME_DATA: {
        if (this.pendingBytes < DATA_HEADER_BYTES) return undefined;
        const h = this.take(DATA_HEADER_BYTES);
        const length = h.readUInt32BE(9);
        if (length === 0 || length > CHUNK_BYTES) throw new Error(`malformed transfer stream: chunk length ${length}`);
        this.data = {
          offset: Number(h.readBigUInt64BE(1)),
          knownTotal: Number(h.readBigUInt64BE(13)),
          buf: Buffer.allocUnsafe(length + DIGEST_BYTES),
          filled: 0,
        };
        return this.fillData();
      }
      default:
        throw new Error(`malformed transfer stream: unknown frame type ${String(type)}`);
    }
  }

  /** Copy what has arrived into the frame's buffer (one copy per byte, whatever the read sizes). */
  private fillData(): Frame | undefined {
    const d = this.data!;
    while (this.pending.length > 0 && d.filled < d.buf.length) {
      const piece = this.pending[0]!;
      const n = Math.min(piece.length, d.buf.length - d.filled);
      piece.copy(d.buf, d.filled, 0, n);
      d.filled += n;
      this.pendingBytes -= n;
      if (n === piece.length) this.pending.shift();
      else this.pending[0] = piece.subarray(n);
    }
    if (d.filled < d.buf.length) return undefined;
    this.data = undefined;
    const length = d.buf.length - DIGEST_BYTES;
    return { kind: 'data', offset: d.offset, knownTotal: d.knownTotal, data: d.buf.subarray(0, length), digest: d.buf.subarray(length) };
  }
}
