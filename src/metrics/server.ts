// The /metrics listener: plain HTTP, GET /metrics only, on its own port (never the API port, so
// scraping needs no client certificate and the API's authentication is never loosened).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ListenAddress } from './listen.js';
import { registry, startProcessMetrics } from './registry.js';

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(at: ListenAddress, log: Logger): Promise<MetricsServer> {
  startProcessMetrics();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only /metrics is served here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: unknown) => {
        log.error({ err: e }, 'could not collect metrics');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('could not collect metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : e.message;
      reject(new UserError(`cannot listen for metrics on ${at.host}:${at.port}: ${why}`));
    });
    server.listen(at.port, at.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  const url = `http://${host}:${port}/metrics`;
  log.info({ url }, 'serving Prometheus metrics');
  return {
    port,
    url,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
