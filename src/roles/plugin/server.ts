// Docker's plugin protocol: HTTP/1.1 POSTs on a unix socket. Docker finds the driver by the
// socket's basename in /run/docker/plugins. Every failure is an HTTP 200 with a non-empty `Err`.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import { UserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { readBody, readBodyText } from '../../read-body.js';
import { pluginMetrics, secondsSince } from '../../metrics/registry.js';
import { errText } from './errors.js';
import type { DockerReply, DockerRequest, VolumeDriver } from './handlers.js';

// Docker's own media type, byte for byte: set as a header, never through ctx.type (which would
// add "; charset=utf-8").
const CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';

type Handler = (req: DockerRequest) => Promise<DockerReply> | DockerReply | Record<string, unknown>;

export interface PluginServerOptions {
  readonly socket: string;
  readonly driver: VolumeDriver;
  /** The control service in use now (it changes on fail-over), for error messages. */
  readonly controlAddress: () => string;
  readonly log: Logger;
}

export interface PluginServer {
  readonly socket: string;
  close(): Promise<void>;
}

export async function startPluginServer(o: PluginServerOptions): Promise<PluginServer> {
  const server = createServer(pluginApp(o).callback());
  server.keepAliveTimeout = 60_000;

  await prepareSocket(o.socket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Only root (Docker) may talk to the plugin: it can move and delete data.
  chmodSync(o.socket, 0o600);
  o.log.info({ socket: o.socket }, 'docker volume plugin listening');
  return { socket: o.socket, close: () => closeServer(server, o.socket) };
}

/** The plugin protocol as a koa app: every endpoint a POST; 404 and 405 with an Err too. */
export function pluginApp(o: Pick<PluginServerOptions, 'driver' | 'controlAddress' | 'log'>): Koa {
  const d = o.driver;
  const routes: Record<string, Handler> = {
    '/Plugin.Activate': () => d.activate(),
    '/VolumeDriver.Create': (r) => d.create(r),
    '/VolumeDriver.Remove': (r) => d.remove(r),
    '/VolumeDriver.Mount': (r) => d.mount(r),
    '/VolumeDriver.Unmount': (r) => d.unmount(r),
    '/VolumeDriver.Path': (r) => d.path(r),
    '/VolumeDriver.Get': (r) => d.get(r),
    '/VolumeDriver.List': () => d.list(),
    '/VolumeDriver.Capabilities': () => d.capabilities(),
  };
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  const { requestDuration } = pluginMetrics();
  // Every answer is a 200; the outcome is whether it carried an Err for Docker.
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const known = Object.prototype.hasOwnProperty.call(routes, ctx.path);
      const err = typeof ctx.body === 'string' && /^\{"Err":"[^"]/.test(ctx.body);
      const outcome = !known ? 'unknown' : ctx.status === 200 && !err ? 'ok' : 'error';
      requestDuration.observe({ endpoint: known ? ctx.path.slice(1) : 'unknown', outcome }, secondsSince(started));
    }
  });
  for (const [path, route] of Object.entries(routes)) {
    router.post(path, async (ctx) => reply(ctx, 200, await answer(ctx, path, route, o)));
    router.all(path, async (ctx) => {
      await discardBody(ctx);
      ctx.set('Allow', 'POST');
      reply(ctx, 405, { Err: `${path} takes POST` });
    });
  }
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined) {
        await discardBody(ctx);
        reply(ctx, 404, { Err: `unknown plugin endpoint ${ctx.path}` });
      }
    } catch (e) {
      o.log.error({ err: e }, 'plugin request failed');
      reply(ctx, 500, { Err: 'internal error' });
    }
  });
  app.use(router.routes());
  return app;
}

async function answer(ctx: Context, path: string, route: Handler, o: Pick<PluginServerOptions, 'controlAddress' | 'log'>): Promise<Record<string, unknown>> {
  const started = Date.now();
  const text = await readBodyText(ctx);
  if (text === undefined) return { Err: 'request body too large' };
  const body = dockerRequest(text);
  let out: Record<string, unknown>;
  try {
    out = await route(body);
  } catch (e) {
    out = { Err: errText(e, o.controlAddress(), o.log), ...emptyFields(path) };
  }
  o.log.debug({ path, name: body.Name, ms: Date.now() - started, err: out['Err'] || undefined }, 'plugin request');
  if (out['Err']) o.log.info({ path, name: body.Name, err: out['Err'] }, 'plugin request refused');
  return out;
}

/**
 * Read and drop a body we refuse without looking at, before answering, so the client is not
 * answered while it is still writing; past the size limit the answer says Connection: close and
 * the connection ends, like any other too-large body (test/plugin/refused-body.test.ts).
 */
async function discardBody(ctx: Context): Promise<void> {
  try {
    await readBody(ctx);
  } catch {
    ctx.set('Connection', 'close'); // the client went away mid-body; the reply goes nowhere
  }
}

/** Docker reads Mountpoint even on error for some calls; give it the field it expects. */
function emptyFields(path: string): Record<string, unknown> {
  return path === '/VolumeDriver.Mount' || path === '/VolumeDriver.Path' ? { Mountpoint: '' } : {};
}

/** Lenient: Docker sends `null`, empty bodies, or JSON with a vendor content type; the handlers check each field. */
function dockerRequest(text: string): DockerRequest {
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as DockerRequest) : {};
  } catch {
    return {};
  }
}

function reply(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.set('Content-Type', CONTENT_TYPE);
  ctx.body = JSON.stringify(body);
}

/** Make the parent directory and clear a socket left by a plugin that died; refuse a live one. */
async function prepareSocket(socket: string): Promise<void> {
  const dir = dirname(socket);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new UserError(`cannot create the plugin socket directory ${dir}: ${(e as Error).message}`);
  }
  let st;
  try {
    st = lstatSync(socket);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new UserError(`${socket} exists and is not a socket; refusing to replace it`);
  if (await isLive(socket)) throw new UserError(`another process is already serving ${socket}`);
  unlinkSync(socket);
}

function isLive(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

function closeServer(server: Server, socket: string): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    try {
      unlinkSync(socket);
    } catch {
      // already gone
    }
  });
}
