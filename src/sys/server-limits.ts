// Bounds every HTTP(S) server of ours puts on its clients, so slow or numerous clients cannot
// starve the others: a client must send its headers and its body within a deadline, an idle
// kept-alive connection is closed, and past a connection cap new connections are dropped at once.
import type { Server as HttpServer, ServerOptions } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from '../log.js';

export interface ServerLimits {
  /** All request headers must arrive within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this. */
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this are closed as they arrive. */
  readonly maxConnections: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4096,
};

/** Options for createServer: Node checks the header and request deadlines every 30 s by default, far too coarse. */
export function limitOptions(l: ServerLimits): ServerOptions {
  return {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
  };
}

/**
 * Apply the limits to a created server. `onDropped` hears of each connection refused at the cap
 * (e.g. to log it, at most now and then).
 */
export function applyLimits(server: HttpServer | HttpsServer, l: ServerLimits, onDropped?: (remoteAddress: string | undefined) => void): void {
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = l.requestTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.maxConnections = l.maxConnections;
  if (onDropped) server.on('drop', (data?: { remoteAddress?: string }) => onDropped(data?.remoteAddress));
}

/** Log refusals at the connection cap, at most once every 10 s, with how many there were. */
export function droppedLogger(log: Logger, what: string): (peer: string | undefined) => void {
  let dropped = 0;
  let lastLog = 0;
  return (peer) => {
    dropped += 1;
    const now = Date.now();
    if (now - lastLog < 10_000) return;
    lastLog = now;
    log.warn({ peer, dropped }, `too many connections to the ${what}; dropping new ones`);
    dropped = 0;
  };
}

