// The fuzzed surfaces, each against the real thing: a `flocker control` process (REST API and
// agent channel), a `flocker plugin` process on its unix socket, and the agent.yml parser. Each
// runner draws `numRuns` cases from a fixed seed and fails on the first case that breaks a rule:
// no 5xx, no dropped connection for a well-formed request, nothing stored for a refused request,
// the process alive and its memory bounded.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { UserError } from '../../src/errors.js';
import { CHANNEL_PATH } from '../../src/protocol/channel.js';
import { clientTlsOptions, readTlsMaterial } from '../../src/tls/options.js';
import { startControl, type ControlProcess } from '../control/process-harness.js';
import { startPlugin, type PluginProcess } from '../plugin/support.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { rssMb } from '../support/stalled-readers.js';
import { agentYmlText, apiCase, channelMessage, KNOWN_DATASETS, pluginCase, type ApiCase } from './arbitraries.js';

export const SURFACES = ['rest', 'plugin', 'agent-yml', 'channel'] as const;
export type Surface = (typeof SURFACES)[number];

/** The control service may use this much memory after any amount of fuzzing. */
export const RSS_BOUND_MB = 400;
const BODY_LIMIT = 1024 * 1024;
const REQUEST_DEADLINE_MS = 30_000;

export interface SurfaceResult {
  readonly surface: Surface;
  readonly cases: number;
  /** How the cases were answered: status codes, "Err" or "ok" replies, "refused early", "ConfigError"... */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly seconds: number;
}

export interface FuzzWorld {
  readonly dir: string;
  readonly certs: TestCerts;
  readonly control: ControlProcess;
  plugin?: PluginProcess;
  close(): Promise<void>;
}

export async function startWorld(o: { plugin?: boolean } = {}): Promise<FuzzWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-fuzz-'));
  let control: ControlProcess | undefined;
  try {
    const certs = await makeCerts(join(dir, 'certs'), { nodes: 2 });
    control = await startControl(join(dir, 'data'), certs.dir, { FLOCKER_LOG_LEVEL: 'warn' });
    const world: FuzzWorld = {
      dir, certs, control,
      async close() {
        await world.plugin?.stop();
        await control!.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    if (o.plugin) {
      const config = join(dir, 'agent.yml');
      mkdirSync(join(dir, 'state'), { recursive: true });
      writeFileSync(config, stringify({
        version: 1,
        'control-service': { hostname: '127.0.0.1', port: control.agentPort },
        dataset: { backend: 'directory', root_path: join(dir, 'pool'), mount_root: join(dir, 'mnt') },
        'certificates-dir': certs.nodes[0]!.certificatesDir,
        'state-dir': join(dir, 'state'),
        plugin: { 'api-port': control.apiPort },
      }));
      world.plugin = await startPlugin(config, join(dir, 'sock', 'fuzz.sock'), ['--mount-timeout', '0.2']);
    }
    return world;
  } catch (e) {
    await control?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Alive and within its memory bound; else an Error saying which. */
export function checkControlHealthy(w: FuzzWorld): void {
  const c = w.control.child;
  if (c.exitCode !== null || c.signalCode !== null) throw new Error(`control died (${c.exitCode ?? c.signalCode}):\n${w.control.stderr().slice(-3000)}`);
  const rss = rssMb(c.pid!);
  if (rss > RSS_BOUND_MB) throw new Error(`control uses ${rss} MB (bound ${RSS_BOUND_MB} MB)`);
  const errors = w.control.stderr().split('\n').filter((l) => l.includes('"level":50') || l.includes('"level":60'));
  if (errors.length > 0) throw new Error(`control logged errors:\n${errors.slice(0, 5).join('\n')}`);
}

/** The server may answer and close while a big body is still being written; that late EPIPE lands on the socket. Once per (kept-alive) socket. */
const quieted = new WeakSet<Socket>();
function quietSocket(sock: Socket): void {
  if (quieted.has(sock)) return;
  quieted.add(sock);
  sock.on('error', () => undefined);
}

function count(outcomes: Record<string, number>, key: string): void {
  outcomes[key] = (outcomes[key] ?? 0) + 1;
}

// ---- REST API ----------------------------------------------------------------------------------

interface Answer {
  status: number;
  text: string;
  contentType: string;
}

type Sent = { kind: 'answer'; answer: Answer } | { kind: 'refused-early'; code: string };

function apiCaller(w: FuzzWorld): { send(c: ApiCase): Promise<Sent>; close(): void } {
  const u = w.certs.users['user']!;
  const tls = { ca: readFileSync(w.certs.caCert), cert: readFileSync(u.cert), key: readFileSync(u.key), servername: 'control-service' };
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ...tls });
  const once = (c: ApiCase): Promise<Sent & { reused?: boolean }> => new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...c.headers };
    if (c.body) headers['content-length'] = c.body.length;
    const req = httpsRequest({ host: '127.0.0.1', port: w.control.apiPort, method: c.method, path: c.path, headers, agent, ...tls }, (res) => {
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        // A live stream never ends: its headers show it answered; then hang up.
        resolve({ kind: 'answer', answer: { status: res.statusCode ?? 0, text: '', contentType: String(res.headers['content-type']) } });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ kind: 'answer', answer: { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), contentType: String(res.headers['content-type'] ?? '') } }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_DEADLINE_MS, () => req.destroy(new Error(`no answer within ${REQUEST_DEADLINE_MS} ms`)));
    req.on('socket', quietSocket);
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? e.message;
      // The server may refuse an oversized body or URL and close while we are still sending it.
      const oversized = (c.body?.length ?? 0) > BODY_LIMIT || c.path.length > 8000;
      if (oversized && (code === 'EPIPE' || code === 'ECONNRESET')) return resolve({ kind: 'refused-early', code });
      if (req.reusedSocket && code === 'ECONNRESET') return resolve({ kind: 'refused-early', code: 'stale', reused: true });
      reject(Object.assign(e, { message: `connection dropped (${code}) for ${c.method} ${c.path.slice(0, 100)}` }));
    });
    req.end(c.body);
  });
  return {
    async send(c) {
      const r = await once(c);
      // A kept-alive socket closed by the server's idle timer: the request never arrived. Again, on a new one.
      return r.reused ? once(c) : r;
    },
    close: () => agent.destroy(),
  };
}

/** What a refused request must not have changed: datasets exactly, leases (which may only expire) by holder. */
async function storedView(send: (c: ApiCase) => Promise<Sent>): Promise<{ datasets: string; leases: Set<string> }> {
  const get = async (path: string): Promise<string> => {
    const r = await send({ method: 'GET', path, headers: {}, body: undefined });
    if (r.kind !== 'answer' || r.answer.status !== 200) throw new Error(`GET ${path} failed: ${JSON.stringify(r)}`);
    return r.answer.text;
  };
  const leases = JSON.parse(await get('/v1/configuration/leases')) as { dataset_id: string; node_uuid: string }[];
  return { datasets: await get('/v1/configuration/datasets'), leases: new Set(leases.map((l) => `${l.dataset_id}@${l.node_uuid}`)) };
}

export async function fuzzRest(w: FuzzWorld, o: { numRuns: number; seed: number }): Promise<SurfaceResult> {
  const started = performance.now();
  const outcomes: Record<string, number> = {};
  const caller = apiCaller(w);
  let view = await storedView(caller.send);
  let cases = 0;
  try {
    await fc.assert(fc.asyncProperty(apiCase, async (c) => {
      cases += 1;
      const r = await caller.send(c);
      if (r.kind === 'refused-early') {
        count(outcomes, `refused early (${r.code})`);
      } else {
        const { status, text, contentType } = r.answer;
        count(outcomes, String(status));
        if (status >= 500) throw new Error(`HTTP ${status} for ${c.method} ${c.path.slice(0, 200)}: ${text.slice(0, 300)}`);
        if (status >= 400 && contentType.includes('json') && c.method !== 'HEAD') {
          const body = JSON.parse(text) as { description?: unknown };
          if (typeof body.description !== 'string') throw new Error(`HTTP ${status} without a description: ${text.slice(0, 200)}`);
        }
      }
      const mutating = c.method !== 'GET' && c.method !== 'HEAD' && c.method !== 'OPTIONS';
      const refused = r.kind === 'refused-early' || r.answer.status >= 400;
      if (mutating && refused) {
        const after = await storedView(caller.send);
        if (after.datasets !== view.datasets) throw new Error(`a refused ${c.method} ${c.path.slice(0, 100)} changed the datasets`);
        for (const l of after.leases) if (!view.leases.has(l)) throw new Error(`a refused ${c.method} ${c.path.slice(0, 100)} stored lease ${l}`);
        view = after;
      } else if (mutating) {
        view = await storedView(caller.send);
      }
    }), { numRuns: o.numRuns, seed: o.seed, endOnFailure: true });
  } finally {
    caller.close();
  }
  checkControlHealthy(w);
  return { surface: 'rest', cases, outcomes, seconds: (performance.now() - started) / 1000 };
}

// ---- Docker plugin -----------------------------------------------------------------------------

const PLUGIN_ROUTES = new Set(['/Plugin.Activate', '/VolumeDriver.Create', '/VolumeDriver.Remove', '/VolumeDriver.Mount', '/VolumeDriver.Unmount',
  '/VolumeDriver.Path', '/VolumeDriver.Get', '/VolumeDriver.List', '/VolumeDriver.Capabilities']);

export async function fuzzPlugin(w: FuzzWorld, o: { numRuns: number; seed: number }): Promise<SurfaceResult> {
  const plugin = w.plugin;
  if (!plugin) throw new Error('startWorld({ plugin: true }) first');
  const started = performance.now();
  const outcomes: Record<string, number> = {};
  let cases = 0;
  const once = (c: { method: string; path: string; body: Buffer | undefined }): Promise<Sent & { reused?: boolean }> => new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: plugin.socket, method: c.method, path: c.path,
      headers: { 'content-type': 'application/vnd.docker.plugins.v1+json', ...(c.body ? { 'content-length': c.body.length } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ kind: 'answer', answer: { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), contentType: String(res.headers['content-type'] ?? '') } }));
      res.on('error', reject);
    });
    // What the connection had done by then tells a stalled plugin from a stuck connection.
    req.setTimeout(REQUEST_DEADLINE_MS, () => req.destroy(new Error(`no answer within ${REQUEST_DEADLINE_MS} ms (${req.reusedSocket ? 'kept-alive' : 'new'} connection, `
      + `request ${req.writableFinished ? 'fully written' : 'not fully written'}, ${req.socket?.bytesWritten ?? 0} bytes written and ${req.socket?.bytesRead ?? 0} read on it)`)));
    req.on('socket', quietSocket);
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? e.message;
      if ((c.body?.length ?? 0) > BODY_LIMIT && (code === 'EPIPE' || code === 'ECONNRESET')) return resolve({ kind: 'refused-early', code });
      if (req.reusedSocket && code === 'ECONNRESET') return resolve({ kind: 'refused-early', code: 'stale', reused: true });
      reject(Object.assign(e, { message: `connection dropped (${code}) for ${c.method} ${c.path}` }));
    });
    req.end(c.body);
  });
  // A kept-alive socket closed by the server's idle timer: the request never arrived. Again, on a new one.
  const send = async (c: { method: string; path: string; body: Buffer | undefined }): Promise<Sent> => {
    const r = await once(c);
    return r.reused ? once(c) : r;
  };
  const started2 = Date.now();
  const property = fc.asyncProperty(pluginCase, async (c) => {
    cases += 1;
    const r = await send(c);
    if (r.kind === 'refused-early') return void count(outcomes, `refused early (${r.code})`);
    const { status, text } = r.answer;
    const route = PLUGIN_ROUTES.has(c.path.split('?')[0]!);
    const expected = !route ? 404 : c.method !== 'POST' ? 405 : 200;
    if (status !== expected) throw new Error(`HTTP ${status} (expected ${expected}) for ${c.method} ${c.path}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { Err?: unknown; Implements?: unknown };
    if (status === 200 && c.path.split('?')[0] !== '/Plugin.Activate' && typeof body.Err !== 'string') throw new Error(`no Err string: ${text.slice(0, 200)}`);
    count(outcomes, status !== 200 ? String(status) : body.Err ? 'Err' : 'ok');
  });
  try {
    await fc.assert(property, { numRuns: o.numRuns, seed: o.seed, endOnFailure: true });
  } catch (e) {
    // What the plugin was doing is the first thing to look at.
    const log = plugin.output().split('\n').filter((l) => !l.includes('"level":20')).slice(-30).join('\n');
    const probe = await probePlugin(plugin.socket);
    throw Object.assign(new Error(`${e instanceof Error ? e.message : String(e)}\n${probe}\n--- plugin log (last lines, ${Math.round((Date.now() - started2) / 1000)} s in) ---\n${log}`), { cause: e instanceof Error ? e.cause : undefined });
  }
  const p = plugin.proc;
  if (p.exitCode !== null || p.signalCode !== null) throw new Error(`the plugin died:\n${plugin.output().slice(-3000)}`);
  const errors = plugin.output().split('\n').filter((l) => l.includes('"level":50') || l.includes('"level":60'));
  if (errors.length > 0) throw new Error(`the plugin logged errors:\n${errors.slice(0, 5).join('\n')}`);
  checkControlHealthy(w);
  return { surface: 'plugin', cases, outcomes, seconds: (performance.now() - started) / 1000 };
}

/** After a failure: does the plugin still answer a call on a fresh connection (stuck connection) or not (stalled plugin)? */
function probePlugin(socket: string): Promise<string> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest({ socketPath: socket, method: 'POST', path: '/Plugin.Activate', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(`afterwards the plugin answered a fresh connection (HTTP ${res.statusCode}) in ${Math.round(performance.now() - started)} ms`));
    });
    req.setTimeout(REQUEST_DEADLINE_MS, () => req.destroy(new Error(`no answer within ${REQUEST_DEADLINE_MS} ms`)));
    req.on('error', (e) => resolve(`afterwards the plugin did not answer a fresh connection either: ${e.message}`));
    req.end('null');
  });
}

// ---- agent.yml ---------------------------------------------------------------------------------

export async function fuzzAgentYml(o: { numRuns: number; seed: number }): Promise<SurfaceResult> {
  const started = performance.now();
  const outcomes: Record<string, number> = {};
  let cases = 0;
  fc.assert(fc.property(agentYmlText(stringify), (text) => {
    cases += 1;
    try {
      const c = parseAgentConfig(text, '/etc/flocker/agent.yml');
      if (typeof c.controlService.hostname !== 'string' || !Number.isInteger(c.controlService.port)) throw new Error(`accepted a bad control-service: ${text}`);
      count(outcomes, 'accepted');
    } catch (e) {
      if (!(e instanceof UserError)) throw new Error(`not a one-line configuration error: ${String(e)}\n--- agent.yml ---\n${text.slice(0, 500)}`);
      if (e.message.includes('\n')) throw new Error(`a multi-line error: ${e.message}`);
      count(outcomes, e.name);
    }
    if (({} as Record<string, unknown>)['polluted'] !== undefined) throw new Error('Object.prototype was polluted');
  }), { numRuns: o.numRuns, seed: o.seed, endOnFailure: true });
  return { surface: 'agent-yml', cases, outcomes, seconds: (performance.now() - started) / 1000 };
}

// ---- agent channel -----------------------------------------------------------------------------

export async function fuzzChannel(w: FuzzWorld, o: { numRuns: number; seed: number }): Promise<SurfaceResult> {
  const started = performance.now();
  const outcomes: Record<string, number> = {};
  const node = w.certs.nodes[1]!;
  const tls = clientTlsOptions(readTlsMaterial(node.certificatesDir, { cert: 'node.crt', key: 'node.key' }));
  const ws = new WebSocket(`wss://127.0.0.1:${w.control.agentPort}${CHANNEL_PATH}`, tls);
  let closed: string | undefined;
  ws.on('close', (code, reason) => { closed = `${code} ${reason.toString()}`; });
  ws.on('error', (e) => { closed ??= e.message; });
  ws.on('message', () => count(outcomes, 'cluster pushes received'));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  ws.send(JSON.stringify({ type: 'hello', version: 1, era: 'fuzz-era' }));
  const caller = apiCaller(w);
  for (const [i, id] of KNOWN_DATASETS.entries()) {
    const body = Buffer.from(JSON.stringify({ dataset_id: id, primary: w.certs.nodes[i % 2]!.uuid, metadata: { name: `known-${i}` } }));
    const r = await caller.send({ method: 'POST', path: '/v1/configuration/datasets', headers: {}, body });
    if (r.kind !== 'answer' || (r.answer.status !== 201 && r.answer.status !== 409)) throw new Error(`could not create dataset ${id}: ${JSON.stringify(r)}`);
  }
  const roundTrip = (): Promise<void> => new Promise((resolve, reject) => {
    if (closed) return reject(new Error(`the control service closed the channel: ${closed}`));
    ws.once('pong', () => resolve());
    ws.ping();
  });
  let cases = 0;
  try {
    await fc.assert(fc.asyncProperty(channelMessage, async (text) => {
      cases += 1;
      ws.send(text);
      // The pong comes after the message was handled; a GET after that sees its effect.
      await roundTrip();
      for (const path of ['/v1/state/datasets', '/v1/convergence', '/v1/state/nodes']) {
        const r = await caller.send({ method: 'GET', path, headers: {}, body: undefined });
        if (r.kind !== 'answer' || r.answer.status !== 200) throw new Error(`GET ${path} after channel message ${text.slice(0, 300)}: ${JSON.stringify(r).slice(0, 300)}`);
      }
      count(outcomes, 'handled');
    }), { numRuns: o.numRuns, seed: o.seed, endOnFailure: true });
  } finally {
    caller.close();
    ws.terminate();
  }
  checkControlHealthy(w);
  return { surface: 'channel', cases, outcomes, seconds: (performance.now() - started) / 1000 };
}

export function formatResult(r: SurfaceResult): string {
  const parts = Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
  return `${r.surface}: ${r.cases} cases in ${r.seconds.toFixed(1)} s (${parts.join(', ')})`;
}
