// GET /v1/events: Server-Sent Events. A `snapshot` first, then one event per changed section.
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import type { ControlHub, Section } from '../hub.js';

export const HEARTBEAT_MS = 15_000;

export function eventRoutes(router: Router, hub: ControlHub, heartbeatMs = HEARTBEAT_MS): void {
  router.get('/v1/events', (ctx) => {
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.status = 200;
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = stream;
    const send = (type: string, json: string): void => {
      stream.write(`event: ${type}\ndata: ${json}\n\n`);
    };
    send('snapshot', hub.snapshotJson());
    const onChange = (sections: ReadonlySet<Section>): void => {
      for (const s of sections) send(s, hub.sectionJson(s));
    };
    hub.on('change', onChange);
    // A comment line keeps proxies and idle timers from closing a quiet stream.
    const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), heartbeatMs);
    const cleanup = (): void => {
      clearInterval(heartbeat);
      hub.off('change', onChange);
      stream.end();
    };
    ctx.req.once('close', cleanup);
    ctx.res.once('close', cleanup);
  });
}
