// The REST v1 client over mutual TLS: typed calls, Flocker's error bodies as ApiRequestError,
// connection failures as one clear line, and the live event stream (GET /v1/events).
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { ApiConvergenceRow, ApiCreateDataset, ApiDatasetConfig, ApiDatasetState, ApiLease, ApiManifest, ApiNode } from '../protocol/api-json.js';
import { coalesceEvents, type ClusterEvent } from '../protocol/events.js';
import { errorMessage, UnreachableError, UserError } from '../errors.js';
import { identityFromPem } from '../tls/identity.js';
import { clientTlsOptions } from '../tls/options.js';
import { describeFailure, ownCertificateProblem, STREAM_IDLE_CODE, TIMEOUT_CODE } from './failures.js';
import { SseParser, toClusterEvent } from './sse.js';
import { ApiRequestError, type ClientOptions, type Conditional, type ControlAddress, type ControlClient, type EventCursor } from './types.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_EVENTS_IDLE_MS = 60_000;

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

type Method = 'GET' | 'POST' | 'DELETE';

export function createControlClient(opts: ClientOptions): ControlClient {
  return new HttpsControlClient(opts);
}

/** Flocker's error body `{"description", "errors"?}`; a 500 carries a bare JSON string (an incident id). */
function errorFromResponse(status: number, statusMessage: string | undefined, text: string): ApiRequestError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && typeof (body as { description?: unknown }).description === 'string') {
    const { description, errors } = body as { description: string; errors?: unknown };
    const list = Array.isArray(errors) ? errors.map((x) => String(x)) : undefined;
    return new ApiRequestError(status, description, list);
  }
  if (typeof body === 'string') {
    return new ApiRequestError(status, `the control service failed with an internal error (HTTP ${status}, incident ${body})`);
  }
  const firstLine = text.replace(/<[^>]*>/g, ' ').split('\n').map((l) => l.trim()).find((l) => l !== '');
  const detail = firstLine ? `: ${firstLine.slice(0, 200)}` : '';
  return new ApiRequestError(status, `the control service answered HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}${detail}`);
}

/** HOST:PORT, with brackets around an IPv6 host. */
export function formatAddress(a: ControlAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Marks a failure that happened before the request could reach the server: safe to try elsewhere. */
const UNDELIVERED = Symbol('undelivered');
const undelivered = (e: unknown): boolean => typeof e === 'object' && e !== null && UNDELIVERED in e;

class HttpsControlClient implements ControlClient {
  private readonly agent: Agent;
  /** For the one retry after a kept-alive socket turned out closed: never reuses a socket. */
  private readonly freshAgent: Agent;
  private readonly targets: readonly ControlAddress[];
  private current = 0;
  private readonly ownCn: string | undefined;
  private readonly ownProblem: string | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ClientOptions) {
    const tls = clientTlsOptions({ caCert: opts.caCert, cert: opts.cert, key: opts.key });
    try {
      createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
    } catch (e) {
      throw new UserError(`unusable TLS credentials for the control service client: ${errorMessage(e)}`);
    }
    this.agent = new Agent({ keepAlive: true, ...tls });
    this.freshAgent = new Agent({ keepAlive: false, ...tls });
    this.targets = [{ host: opts.host, port: opts.port }, ...(opts.fallbacks ?? [])];
    try {
      this.ownCn = identityFromPem(opts.cert).cn;
    } catch {
      this.ownCn = undefined;
    }
    this.ownProblem = ownCertificateProblem(opts.caCert, opts.cert);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get address(): string {
    return formatAddress(this.targets[this.current]!);
  }

  private failure(e: unknown, afterHandshake: boolean): UserError {
    const err = describeFailure(e, {
      address: this.address, afterHandshake, timeoutMs: this.timeoutMs,
      ...(this.ownCn !== undefined ? { ownCn: this.ownCn } : {}),
      ...(this.ownProblem !== undefined ? { ownProblem: this.ownProblem } : {}),
    });
    return !afterHandshake && err instanceof UnreachableError ? Object.assign(err, { [UNDELIVERED]: true }) : err;
  }

  /**
   * Run `fn` against the current address; when it could not reach it, against the next, each
   * address once. The client stays on the one that answered (and moves on from the last that
   * failed, so a caller's retry starts elsewhere).
   */
  private async failingOver<T>(fn: () => Promise<T>): Promise<T> {
    for (let tried = 1; ; tried++) {
      try {
        return await fn();
      } catch (e) {
        if (!undelivered(e) || this.targets.length === 1) throw e;
        const from = this.address;
        this.current = (this.current + 1) % this.targets.length;
        this.opts.onFailover?.(this.address, from, errorMessage(e));
        if (tried >= this.targets.length) throw e;
      }
    }
  }

  // --- plumbing -------------------------------------------------------------------------------

  /**
   * A request with our timeout, and whether its TLS handshake had completed (for describeFailure:
   * a failure after it means the server refused us, before it that we could not reach it).
   */
  private open(method: Method, path: string, headers: Record<string, string>, fresh = false): { req: ClientRequest; handshaken: () => boolean } {
    const { host, port } = this.targets[this.current]!;
    const req = request({ host, port, method, path, agent: fresh ? this.freshAgent : this.agent, headers });
    let handshaken = false;
    req.on('socket', (s) => {
      if (req.reusedSocket) handshaken = true;
      else (s as TLSSocket).once('secureConnect', () => (handshaken = true));
    });
    req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: TIMEOUT_CODE })));
    return { req, handshaken: () => handshaken };
  }

  /**
   * One HTTP exchange. A request on a kept-alive socket that the server had just closed (it never
   * reached the server) is retried once on a new connection, never on another pooled socket:
   * those may be just as stale, and their failure would read as a refused certificate. Whatever
   * the new connection meets is what gets reported.
   */
  private exchange(method: Method, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
    return this.failingOver(() => this.exchangeHere(method, path, body, extraHeaders));
  }

  private async exchangeHere(method: Method, path: string, body: unknown, extraHeaders: Record<string, string>): Promise<RawResponse> {
    const stale = (e: unknown): boolean => (e as { staleSocket?: boolean }).staleSocket === true;
    try {
      return await this.attempt(method, path, body, extraHeaders, false);
    } catch (e) {
      if (!stale(e)) throw e;
    }
    return this.attempt(method, path, body, extraHeaders, true);
  }

  private attempt(method: Method, path: string, body: unknown, extraHeaders: Record<string, string>, fresh: boolean): Promise<RawResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json', ...extraHeaders };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise<RawResponse>((resolve, reject) => {
      const { req, handshaken } = this.open(method, path, headers, fresh);
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (!fresh && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          reject(Object.assign(e, { staleSocket: true }));
          return;
        }
        reject(this.failure(e, handshaken()));
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.failure(e, true)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(payload);
    });
  }

  /** Parse a 2xx JSON body; anything else becomes ApiRequestError. */
  private async call<T>(method: Method, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ value: T; headers: IncomingHttpHeaders }> {
    const r = await this.exchange(method, path, body, headers);
    if (r.status < 200 || r.status > 299) throw errorFromResponse(r.status, undefined, r.text);
    try {
      return { value: JSON.parse(r.text) as T, headers: r.headers };
    } catch {
      throw new UserError(`the control service at ${this.address} answered ${method} ${path} with a body that is not JSON`);
    }
  }

  private async list<T>(path: string): Promise<T[]> {
    const { value } = await this.call<unknown>('GET', path);
    if (!Array.isArray(value)) throw new UserError(`the control service at ${this.address} answered GET ${path} with something other than a list`);
    return value as T[];
  }

  private static conditional(cond?: Conditional): Record<string, string> {
    return cond?.ifConfigurationMatches !== undefined ? { 'X-If-Configuration-Matches': cond.ifConfigurationMatches } : {};
  }

  // --- REST v1 ---------------------------------------------------------------------------------

  async version(): Promise<{ flocker: string }> {
    return (await this.call<{ flocker: string }>('GET', '/v1/version')).value;
  }

  async listDatasets(): Promise<{ datasets: ApiDatasetConfig[]; tag: string }> {
    const { value, headers } = await this.call<unknown>('GET', '/v1/configuration/datasets');
    if (!Array.isArray(value)) throw new UserError(`the control service at ${this.address} answered GET /v1/configuration/datasets with something other than a list`);
    const tag = headers['x-configuration-tag'];
    return { datasets: value as ApiDatasetConfig[], tag: typeof tag === 'string' ? tag : '' };
  }

  async createDataset(body: ApiCreateDataset, cond?: Conditional): Promise<ApiDatasetConfig> {
    return (await this.call<ApiDatasetConfig>('POST', '/v1/configuration/datasets', body, HttpsControlClient.conditional(cond))).value;
  }

  async moveDataset(datasetId: string, primary: string, cond?: Conditional, opts?: { force?: boolean }): Promise<ApiDatasetConfig> {
    const path = `/v1/configuration/datasets/${encodeURIComponent(datasetId)}`;
    const body = opts?.force ? { primary, force: true } : { primary };
    return (await this.call<ApiDatasetConfig>('POST', path, body, HttpsControlClient.conditional(cond))).value;
  }

  async deleteDataset(datasetId: string, cond?: Conditional): Promise<ApiDatasetConfig> {
    const path = `/v1/configuration/datasets/${encodeURIComponent(datasetId)}`;
    return (await this.call<ApiDatasetConfig>('DELETE', path, undefined, HttpsControlClient.conditional(cond))).value;
  }

  stateDatasets(): Promise<ApiDatasetState[]> {
    return this.list<ApiDatasetState>('/v1/state/datasets');
  }

  stateNodes(): Promise<ApiNode[]> {
    return this.list<ApiNode>('/v1/state/nodes');
  }

  stateManifests(): Promise<ApiManifest[]> {
    return this.list<ApiManifest>('/v1/state/manifests');
  }

  async nodeByEra(era: string): Promise<{ uuid: string } | undefined> {
    try {
      return (await this.call<{ uuid: string }>('GET', `/v1/state/nodes/by_era/${encodeURIComponent(era)}`)).value;
    } catch (e) {
      if (e instanceof ApiRequestError && e.status === 404) return undefined;
      throw e;
    }
  }

  listLeases(): Promise<ApiLease[]> {
    return this.list<ApiLease>('/v1/configuration/leases');
  }

  async acquireLease(datasetId: string, nodeUuid: string, expires: number | null): Promise<ApiLease> {
    return (await this.call<ApiLease>('POST', '/v1/configuration/leases', { dataset_id: datasetId, node_uuid: nodeUuid, expires })).value;
  }

  async releaseLease(datasetId: string): Promise<ApiLease> {
    return (await this.call<ApiLease>('DELETE', `/v1/configuration/leases/${encodeURIComponent(datasetId)}`)).value;
  }

  convergence(): Promise<ApiConvergenceRow[]> {
    return this.list<ApiConvergenceRow>('/v1/convergence');
  }

  // --- GET /v1/events ----------------------------------------------------------------------------

  async *events(signal?: AbortSignal, cursor?: EventCursor): AsyncGenerator<ClusterEvent, void, undefined> {
    if (signal?.aborted) return;
    const opened = await this.failingOver(() => this.openStream(signal, cursor?.lastEventId));
    if (!opened) return;
    const { req, res } = opened;
    const onAbort = (): void => {
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const parser = new SseParser();
    res.setEncoding('utf8');
    try {
      // A chunk is everything buffered since the last read: a follower that fell behind gets
      // what it missed folded into a few events (coalesceEvents), one pass over its rows each.
      for await (const chunk of res as AsyncIterable<string>) {
        const received: ClusterEvent[] = [];
        let lastId: string | undefined;
        for (const m of parser.push(chunk)) {
          const e = toClusterEvent(m);
          if (e) received.push(e);
          if (m.id !== undefined) lastId = m.id;
        }
        const out = coalesceEvents(received);
        // The place moves on with the read's last event (folded events have no place of their
        // own): a follower that stops before it takes this read again on its return.
        if (out.length === 0 && cursor && lastId !== undefined) cursor.lastEventId = lastId;
        for (const [i, e] of out.entries()) {
          if (signal?.aborted) return; // nothing more after an abort, even from the same chunk
          if (i === out.length - 1 && cursor && lastId !== undefined) cursor.lastEventId = lastId;
          yield e;
        }
      }
    } catch (e) {
      if (signal?.aborted) return;
      if (opened.idle.error) throw this.failure(opened.idle.error, true);
      throw new UnreachableError('the control service', this.address, `the event stream was cut (${errorMessage(e)})`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      parser.end();
      req.destroy();
    }
  }

  /** The response of GET /v1/events once its headers say 200; undefined if aborted meanwhile. */
  private openStream(
    signal?: AbortSignal,
    lastEventId?: string,
  ): Promise<{ req: ClientRequest; res: IncomingMessage; idle: { error?: Error } } | undefined> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
      const { req, handshaken } = this.open('GET', '/v1/events', headers);
      const onAbort = (): void => {
        req.destroy();
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) resolve(undefined);
        else reject(this.failure(e, handshaken()));
      });
      req.on('response', (res: IncomingMessage) => {
        signal?.removeEventListener('abort', onAbort);
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            req.destroy();
            reject(errorFromResponse(res.statusCode ?? 0, res.statusMessage, Buffer.concat(chunks).toString('utf8')));
          });
          res.on('error', (e) => reject(this.failure(e, true)));
          return;
        }
        // From here silence is judged by the heartbeats, not by the request timeout.
        const idleMs = this.opts.eventsIdleTimeoutMs ?? DEFAULT_EVENTS_IDLE_MS;
        // The response stream reports only "aborted" after destroy(), so the cause is kept here.
        const idle: { error?: Error } = {};
        req.setTimeout(idleMs, () => {
          const seconds = Math.round(idleMs / 100) / 10;
          idle.error = Object.assign(new Error(`nothing received for ${seconds} s`), { code: STREAM_IDLE_CODE });
          req.destroy(idle.error);
        });
        resolve({ req, res, idle });
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
    this.freshAgent.destroy();
  }
}
