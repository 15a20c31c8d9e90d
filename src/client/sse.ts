// A streaming Server-Sent Events parser (the WHATWG event-stream format, the parts we use):
// `event:`/`data:`/`id:` fields, a blank line ends a message, `:` lines are comments (our
// server's heartbeats). Chunks may split lines anywhere; CR, LF and CRLF all end a line.
import type { ClusterEvent, ClusterEventType } from '../protocol/events.js';

export interface SseMessage {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

const LF = 0x0a;
const CR = 0x0d;

export class SseParser {
  /** The line not yet ended, in the pieces it came in. */
  private pieces: string[] = [];
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  /** A chunk ended in CR: a following LF belongs to the same line end. */
  private skipLf = false;

  private started = false;

  /**
   * Feed decoded text; returns the messages it completed. Only the new text is scanned: a line
   * that spans many chunks (a snapshot of 100,000 datasets is one 60 MB `data:` line) is kept as
   * pieces and joined once, where rescanning a growing buffer on every chunk was quadratic.
   */
  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (!this.started && text !== '') {
      this.started = true;
      if (text.startsWith('\uFEFF')) text = text.slice(1); // the format allows one leading BOM
    }
    if (this.skipLf && text.startsWith('\n')) text = text.slice(1);
    this.skipLf = false;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const piece = text.slice(start, i);
      const line = this.pieces.length > 0 ? this.pieces.join('') + piece : piece;
      this.pieces = [];
      this.line(line, out);
      if (c === CR) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === LF) i++;
        } else {
          this.skipLf = true;
        }
      }
      start = i + 1;
    }
    if (start < text.length) this.pieces.push(text.slice(start));
    return out;
  }

  /** The stream ended: per the format, an unterminated message is dropped. */
  end(): void {
    this.pieces = [];
    this.reset();
  }

  private reset(): void {
    this.event = '';
    this.data = [];
    this.id = undefined;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    // `retry` and unknown fields: ignored.
  }
}

const EVENT_TYPES: ReadonlySet<string> = new Set<ClusterEventType>(['snapshot', 'configuration', 'state', 'nodes', 'leases', 'convergence', 'tick', 'resumed']);

/**
 * A ClusterEvent from a message, or undefined for event types we don't know (a newer server
 * may add some) and data that isn't JSON.
 */
export function toClusterEvent(m: SseMessage): ClusterEvent | undefined {
  if (!EVENT_TYPES.has(m.event)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(m.data);
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== 'object') return undefined;
  return { type: m.event, data } as ClusterEvent;
}
