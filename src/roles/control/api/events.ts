// GET /v1/events: Server-Sent Events. A `snapshot` first, then one event per changed section
// (protocol/events.ts), each serialised once by the hub for every reader. A reader that stops
// reading must not grow us without bound: one more than a few snapshots behind is dropped (and
// logged); when it reconnects it gets a fresh snapshot, which is all it would have learnt from
// the backlog.
import { PassThrough } from 'node:stream';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type Router from '@koa/router';
import type { Logger } from '../../../log.js';
import { identityFromPeer } from '../../../tls/identity.js';
import type { ControlHub, Section } from '../hub.js';

export const HEARTBEAT_MS = 15_000;
/** How often a reader is told the server's time, so it knows how far behind it is when nothing changes. */
export const TICK_MS = 1000;
/** Never drop a reader with less than this waiting for it. */
export const MIN_BACKLOG_BYTES = 4 * 1024 * 1024;
/** ...nor with less than this many of the largest events sent so far. */
const BACKLOG_EVENTS = 4;

export interface EventRouteOptions {
  readonly heartbeatMs?: number;
  readonly tickMs?: number;
  readonly minBacklogBytes?: number;
  readonly log?: Logger;
}

/** Who is reading, for the log line when it is dropped. */
function reader(socket: Socket): { peer: string | undefined; user?: string } {
  const tls = socket as Partial<TLSSocket>;
  const cn = typeof tls.getPeerCertificate === 'function' ? identityFromPeer(tls.getPeerCertificate())?.cn : undefined;
  return { peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, ...(cn ? { user: cn } : {}) };
}

export function eventRoutes(router: Router, hub: ControlHub, o: EventRouteOptions = {}): void {
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  const tickMs = o.tickMs ?? TICK_MS;
  const minBacklog = o.minBacklogBytes ?? MIN_BACKLOG_BYTES;
  router.get('/v1/events', (ctx) => {
    const stream = new PassThrough();
    const socket = ctx.req.socket;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    ctx.status = 200;
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = stream;
    let largest = 0;
    let closed = false;
    // Everything written but not yet taken by the kernel: our stream, the response, the socket.
    const backlog = (): number => stream.writableLength + stream.readableLength + ctx.res.writableLength + socket.writableLength;
    const send = (type: string, json: string): void => {
      if (closed) return;
      const text = `event: ${type}\ndata: ${json}\n\n`;
      largest = Math.max(largest, text.length);
      const behind = backlog();
      if (behind > Math.max(minBacklog, BACKLOG_EVENTS * largest)) {
        o.log?.warn({ ...reader(socket), backlog_bytes: behind }, 'event stream reader too far behind; dropping it (it gets a fresh snapshot when it reconnects)');
        cleanup();
        socket.destroy();
        return;
      }
      stream.write(text);
    };
    const onChange = (sections: ReadonlySet<Section>): void => {
      for (const s of sections) send(s, hub.eventJson(s));
    };
    // A comment line keeps proxies and idle timers from closing a quiet stream.
    const heartbeat = setInterval(() => {
      if (!closed) stream.write(': heartbeat\n\n');
    }, heartbeatMs);
    const ticker = setInterval(() => send('tick', JSON.stringify({ at: hub.now() })), tickMs);
    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(ticker);
      hub.off('events', onChange);
      hub.closeEvents();
      stream.end();
    };
    send('snapshot', hub.openEvents());
    hub.on('events', onChange);
    ctx.req.once('close', cleanup);
    ctx.res.once('close', cleanup);
  });
}
