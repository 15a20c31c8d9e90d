// GET /v1/events: Server-Sent Events. A `snapshot` first, then one event per changed section
// (protocol/events.ts), each serialised once by the hub for every reader. The last event of each
// announcement (and the snapshot) carries an id; a reader that comes back with it as
// Last-Event-ID gets `resumed` and the announcements it missed instead of a snapshot, while the
// hub still has them all (hub.ts RESUME_WINDOW_MS). A reader that stops reading must not grow us
// without bound: one more than a few snapshots behind is dropped (and logged); when it
// reconnects it gets a fresh snapshot, which is all it would have learnt from the backlog.
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
    const send = (type: string, json: string, id?: string): void => {
      if (closed) return;
      const text = `event: ${type}\ndata: ${json}\n${id !== undefined ? `id: ${id}\n` : ''}\n`;
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
    // The id goes on an announcement's last event only: a reader cut off halfway through one
    // resumes from the one before, and gets all of it again.
    const announce = (events: readonly (readonly [Section, string])[], id: string): void => {
      events.forEach(([s, json], i) => send(s, json, i === events.length - 1 ? id : undefined));
    };
    const onChange = (sections: ReadonlySet<Section>): void => {
      announce([...sections].map((s) => [s, hub.eventJson(s)] as const), hub.eventId());
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
    const start = hub.openEvents(ctx.get('Last-Event-ID') || undefined, minBacklog / 2);
    if (start.kind === 'snapshot') {
      send('snapshot', start.json, start.id);
    } else {
      send('resumed', JSON.stringify({ at: hub.now() }));
      for (const a of start.missed) announce(a.events, hub.eventId(a.generation));
    }
    hub.on('events', onChange);
    ctx.req.once('close', cleanup);
    ctx.res.once('close', cleanup);
  });
}
