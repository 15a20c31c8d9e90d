// Docker's plugin protocol: HTTP/1.1 POSTs on a unix socket. Docker finds the driver by the
// socket's basename in /run/docker/plugins. Every failure is an HTTP 200 with a non-empty `Err`.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { UserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { pluginMetrics, secondsSince } from '../../metrics/registry.js';
import { errText } from './errors.js';
import type { DockerRequest, VolumeDriver } from './handlers.js';
import { applyLimits, DEFAULT_LIMITS, droppedLogger, limitOptions, type ServerLimits } from '../../sys/server-limits.js';

const CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';
const MAX_BODY = 1024 * 1024;

type Handler = (req: DockerRequest) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface PluginServerOptions {
  readonly socket: string;
  readonly driver: VolumeDriver;
  /** "host:port", for errors that say which control service could not be reached. */
  readonly controlAddress: string;
  readonly log: Logger;
  readonly limits?: Partial<ServerLimits>;
}

export interface PluginServer {
  readonly socket: string;
  close(): Promise<void>;
}

export async function startPluginServer(o: PluginServerOptions): Promise<PluginServer> {
  const d = o.driver;
  const routes = new Map<string, Handler>([
    ['/Plugin.Activate', () => d.activate()],
    ['/VolumeDriver.Create', (r) => d.create(r)],
    ['/VolumeDriver.Remove', (r) => d.remove(r)],
    ['/VolumeDriver.Mount', (r) => d.mount(r)],
    ['/VolumeDriver.Unmount', (r) => d.unmount(r)],
    ['/VolumeDriver.Path', (r) => d.path(r)],
    ['/VolumeDriver.Get', (r) => d.get(r)],
    ['/VolumeDriver.List', () => d.list()],
    ['/VolumeDriver.Capabilities', () => d.capabilities()],
  ]);

  const { requestDuration } = pluginMetrics();
  // Docker keeps its connection to a plugin open for a long time between calls.
  const limits: ServerLimits = { ...DEFAULT_LIMITS, keepAliveTimeoutMs: 60_000, maxConnections: 1024, ...o.limits };
  const server = createServer(limitOptions(limits), (req, res) => {
    const started = performance.now();
    // Every answer is a 200; the outcome is whether it carried an Err for Docker.
    res.once('finish', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const known = routes.has(path);
      const outcome = !known ? 'unknown' : res.statusCode === 200 && !answeredErr.has(res) ? 'ok' : 'error';
      requestDuration.observe({ endpoint: known ? path.slice(1) : 'unknown', outcome }, secondsSince(started));
    });
    void handle(req, res, routes, o).catch((e) => {
      o.log.error({ err: e }, 'plugin request failed');
      if (!res.headersSent) reply(res, 500, { Err: 'internal error' });
    });
  });
  applyLimits(server, limits, droppedLogger(o.log, 'plugin socket'));

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

async function handle(req: IncomingMessage, res: ServerResponse, routes: ReadonlyMap<string, Handler>, o: PluginServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const route = routes.get(path);
  if (!route) {
    await discardBody(req, res);
    return reply(res, 404, { Err: `unknown plugin endpoint ${path}` });
  }
  if (req.method !== 'POST') {
    await discardBody(req, res);
    res.setHeader('Allow', 'POST');
    return reply(res, 405, { Err: `${path} takes POST` });
  }
  const started = Date.now();
  let body: DockerRequest;
  try {
    body = await readBody(req);
  } catch (e) {
    return reply(res, 200, { Err: e instanceof UserError ? e.message : 'could not read the request' });
  }
  let out: Record<string, unknown>;
  try {
    out = await route(body);
  } catch (e) {
    out = { Err: errText(e, o.controlAddress, o.log), ...emptyFields(path) };
  }
  o.log.debug({ path, name: body.Name, ms: Date.now() - started, err: out['Err'] || undefined }, 'plugin request');
  if (out['Err']) o.log.info({ path, name: body.Name, err: out['Err'] }, 'plugin request refused');
  reply(res, 200, out);
}

/** Docker reads Mountpoint even on error for some calls; give it the field it expects. */
function emptyFields(path: string): Record<string, unknown> {
  return path === '/VolumeDriver.Mount' || path === '/VolumeDriver.Path' ? { Mountpoint: '' } : {};
}

/**
 * Read and drop a body we refuse without looking at, before answering: answered while a large
 * body was still arriving, the kept-alive connection stopped serving the client's next request
 * (found by fuzzing: a 1 MB GET, then nothing answered). Past MAX_BODY, close instead.
 */
async function discardBody(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let size = 0;
  try {
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) break;
    }
  } catch {
    // the client went away; the reply below goes nowhere
  }
  if (size > MAX_BODY || !req.complete) res.setHeader('Connection', 'close');
}

/** Lenient: Docker sends `null`, empty bodies, or JSON with a vendor content type. */
async function readBody(req: IncomingMessage): Promise<DockerRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new UserError('request body too large');
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as DockerRequest) : {};
  } catch {
    return {};
  }
}

/** Answers that carried an `Err`, for the request's outcome label. */
const answeredErr = new WeakSet<ServerResponse>();

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  if ((body as { Err?: unknown } | null)?.Err) answeredErr.add(res);
  res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
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
