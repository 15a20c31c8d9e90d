// The control service's composition root: store + hub + REST API (port 4523) + agent channel
// (port 4524), both over mutual TLS. start → listening; stop → everything closed, db included.
import { createServer, type Server } from 'node:https';
import { rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log.js';
import { UserError } from '../../errors.js';
import type { ListenAddress } from '../../metrics/listen.js';
import { controlMetrics, secondsSince } from '../../metrics/registry.js';
import { startMetricsServer, type MetricsServer } from '../../metrics/server.js';
import { openStore, type ConfigurationStore } from '../../store/store.js';
import { readTlsMaterial, refuseOtherPeers, serverTlsOptions } from '../../tls/options.js';
import { applyLimits, DEFAULT_LIMITS, droppedLogger, limitOptions, type ServerLimits } from '../../sys/server-limits.js';
import { createApp } from './app.js';
import { AgentChannel } from './channel.js';
import { ControlHub } from './hub.js';

export const CONTROL_JSON = 'control.json';

export interface ControlServiceOptions {
  readonly dataDir: string;
  readonly certificatesDir: string;
  readonly apiPort: number;
  readonly agentPort: number;
  readonly listen: string;
  readonly log: Logger;
  readonly nodeTimeoutMs?: number;
  /** Serve Prometheus /metrics here (plain HTTP); off when absent. */
  readonly metricsListen?: ListenAddress;
  /** Bounds on clients of both ports (defaults: DEFAULT_LIMITS; tests make them small). */
  readonly limits?: Partial<ServerLimits>;
  readonly handshakeTimeoutMs?: number;
}

export interface RunningControlService {
  readonly apiPort: number;
  readonly agentPort: number;
  readonly hub: ControlHub;
  /** The /metrics URL when --metrics-listen was given. */
  readonly metricsUrl?: string;
  stop(): Promise<void>;
}

async function listen(server: Server, port: number, host: string, what: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
      reject(new UserError(`cannot listen for the ${what} on ${host}:${port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The store, with each write timed for flocker_control_store_write_duration_seconds. */
function timedStore(store: ConfigurationStore): ConfigurationStore {
  const { storeWriteDuration } = controlMetrics();
  return {
    path: store.path,
    load: () => store.load(),
    save(next) {
      const started = performance.now();
      try {
        return store.save(next);
      } finally {
        storeWriteDuration.observe(secondsSince(started));
      }
    },
    close: () => store.close(),
  };
}

/** Datasets by phase, counted from the convergence rows when Prometheus scrapes. */
function countPhases(hub: ControlHub): ReadonlyMap<string, number> {
  const counts = new Map<string, number>();
  for (const row of JSON.parse(hub.convergenceJsonText()) as { phase: string }[]) counts.set(row.phase, (counts.get(row.phase) ?? 0) + 1);
  return counts;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

export async function startControlService(o: ControlServiceOptions): Promise<RunningControlService> {
  // Certificates first: a missing file is the commonest mistake and needs no lock to report.
  const tls = readTlsMaterial(o.certificatesDir, { cert: 'control-service.crt', key: 'control-service.key' }, 'set --certificates-dir');
  const store = openStore(o.dataDir);
  const infoFile = join(o.dataDir, CONTROL_JSON);
  rmSync(infoFile, { force: true });
  const hub = new ControlHub({ store: timedStore(store), ...(o.nodeTimeoutMs !== undefined ? { nodeTimeoutMs: o.nodeTimeoutMs } : {}) });
  const app = createApp(hub, o.log);
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const tlsOptions = {
    ...serverTlsOptions(tls, o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    ...limitOptions(limits),
  };
  const api = createServer(tlsOptions, app.callback());
  const agents = createServer(tlsOptions, (_req, res) => {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ description: 'The agent port speaks WebSocket only.' }));
  });
  applyLimits(api, limits, droppedLogger(o.log, 'REST API'));
  applyLimits(agents, limits, droppedLogger(o.log, 'agent channel'));
  refuseOtherPeers(api, 'user-', (reason, s) => o.log.warn({ peer: s.remoteAddress, reason }, 'refused an API connection'));
  refuseOtherPeers(agents, 'node-', (reason, s) => o.log.warn({ peer: s.remoteAddress, reason }, 'refused an agent connection'));
  for (const s of [api, agents]) s.on('tlsClientError', (e) => o.log.debug({ err: e.message }, 'TLS handshake failed'));
  const channel = new AgentChannel(agents, hub, o.log);
  const unregisterPhases = controlMetrics().datasetsByPhase.set(() => countPhases(hub));
  let metrics: MetricsServer | undefined;
  const tick = setInterval(() => {
    hub.sweepLeases().catch((e: unknown) => o.log.error({ err: e }, 'could not persist expired leases'));
    channel.expireSilentNodes();
  }, 1000);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(tick);
    unregisterPhases();
    await metrics?.close();
    await channel.close();
    await Promise.all([closeServer(api), closeServer(agents)]);
    store.close();
    rmSync(infoFile, { force: true });
  };

  try {
    const apiPort = await listen(api, o.apiPort, o.listen, 'REST API');
    const agentPort = await listen(agents, o.agentPort, o.listen, 'agent channel');
    if (o.metricsListen) metrics = await startMetricsServer(o.metricsListen, o.log);
    // Written atomically once both listen: launchers wait for this file.
    const tmp = `${infoFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ pid: process.pid, api_port: apiPort, agent_port: agentPort })}\n`);
    renameSync(tmp, infoFile);
    o.log.info({ apiPort, agentPort, listen: o.listen, dataDir: o.dataDir }, 'control service listening');
    return { apiPort, agentPort, hub, stop, ...(metrics ? { metricsUrl: metrics.url } : {}) };
  } catch (e) {
    await stop();
    throw e;
  }
}
