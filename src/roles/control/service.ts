// The control service's composition root: store + hub + REST API (port 4523) + agent channel
// (port 4524), both over mutual TLS. start → listening; stop → everything closed, db included.
import { createServer, type Server } from 'node:https';
import { mkdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log.js';
import { UserError } from '../../errors.js';
import { DB_FILE, PID_FILE } from '../../store/sqlite.js';
import type { EtcdStore, EtcdTls } from '../../store/etcd.js';
import { describeStore, openStoreSpec, type StoreSpec } from '../../store/open.js';
import { takePidLock, type PidLock } from '../../store/pid-lock.js';
import { StoreUnavailableError } from '../../store/store.js';
import { identityFromPem } from '../../tls/identity.js';
import type { ListenAddress } from '../../metrics/listen.js';
import { controlMetrics } from '../../metrics/registry.js';
import { startMetricsServer, type MetricsServer } from '../../metrics/server.js';
import { readTlsMaterial, refuseOtherPeers, serverTlsOptions } from '../../tls/options.js';
import { applyLimits, DEFAULT_LIMITS, droppedLogger, limitOptions, type ServerLimits } from '../../sys/server-limits.js';
import { createApp } from './app.js';
import { AgentChannel } from './channel.js';
import { ControlHub } from './hub.js';
import type { NodeSync } from './node-sync.js';

export const CONTROL_JSON = 'control.json';

export interface ControlServiceOptions {
  readonly dataDir: string;
  readonly certificatesDir: string;
  readonly apiPort: number;
  readonly agentPort: number;
  readonly listen: string;
  readonly log: Logger;
  readonly nodeTimeoutMs?: number;
  /** --node-timeout: silent this long, a node is unreachable and moves off it need force. */
  readonly unreachableAfterMs?: number;
  /** Where the configuration lives (default sqlite:DATA_DIR/control.sqlite). */
  readonly store?: StoreSpec;
  readonly etcdTls?: EtcdTls;
  /** Give up on an unreachable etcd at start after this many seconds (default: keep trying). */
  readonly waitStoreSeconds?: number;
  /** Serve Prometheus /metrics here (plain HTTP); off when absent. */
  readonly metricsListen?: ListenAddress;
  /** Bounds on clients of both ports (defaults: DEFAULT_LIMITS; tests make them small). */
  readonly limits?: Partial<ServerLimits>;
  readonly handshakeTimeoutMs?: number;
}

/**
 * Every agent holds one connection to the agent port, so its cap is sized for clusters of
 * thousands of nodes (DEFAULT_LIMITS' 4,096, meant for API clients, turned the 4,097th agent
 * away); Node raises the open-file limit to the hard limit, so this many sockets fit.
 */
const AGENT_CHANNEL_MAX_CONNECTIONS = 16_384;

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

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

export async function startControlService(o: ControlServiceOptions): Promise<RunningControlService> {
  // Certificates first: a missing file is the commonest mistake and needs no lock to report.
  const tls = readTlsMaterial(o.certificatesDir, { cert: 'control-service.crt', key: 'control-service.key' }, 'set --certificates-dir');
  const spec: StoreSpec = o.store ?? { kind: 'sqlite', path: join(o.dataDir, DB_FILE) };
  // The SQLite store locks its own folder; with etcd the data directory still holds this
  // replica's control.json, so it gets the same one-owner lock.
  let dirLock: PidLock | undefined;
  if (spec.kind === 'etcd') {
    try {
      mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new UserError(`cannot create data directory ${o.dataDir}: ${(e as Error).message}`);
    }
    dirLock = takePidLock(join(o.dataDir, PID_FILE));
  }
  let store;
  try {
    const clusterUuid = identityFromPem(tls.cert, 'control-service.crt').clusterUuid;
    store = await openStoreSpec(spec, {
      ...(o.etcdTls ? { tls: o.etcdTls } : {}),
      ...(clusterUuid ? { clusterUuid } : {}),
      ...(o.waitStoreSeconds !== undefined ? { waitSeconds: o.waitStoreSeconds } : {}),
      onRetry: (why, delayMs) => o.log.warn({ store: describeStore(spec), retryInMs: delayMs }, `waiting for the store: ${why}`),
    });
  } catch (e) {
    dirLock?.release();
    throw e;
  }
  const infoFile = join(o.dataDir, CONTROL_JSON);
  rmSync(infoFile, { force: true });
  const { storeWriteDuration } = controlMetrics();
  const hub = new ControlHub({
    store,
    onStoreWrite: (seconds) => storeWriteDuration.observe(seconds),
    ...(o.nodeTimeoutMs !== undefined ? { nodeTimeoutMs: o.nodeTimeoutMs } : {}),
    ...(o.unreachableAfterMs !== undefined ? { unreachableAfterMs: o.unreachableAfterMs } : {}),
  });
  let nodeSync: NodeSync | undefined;
  if (spec.kind === 'etcd') {
    const { NodeSync: Sync } = await import('./node-sync.js');
    nodeSync = new Sync(store as EtcdStore, hub.nodes, o.log);
  }
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
  applyLimits(agents, { ...limits, maxConnections: o.limits?.maxConnections ?? AGENT_CHANNEL_MAX_CONNECTIONS }, droppedLogger(o.log, 'agent channel'));
  refuseOtherPeers(api, 'user-', (reason, s) => o.log.warn({ peer: s.remoteAddress, reason }, 'refused an API connection'));
  refuseOtherPeers(agents, 'node-', (reason, s) => o.log.warn({ peer: s.remoteAddress, reason }, 'refused an agent connection'));
  for (const s of [api, agents]) s.on('tlsClientError', (e) => o.log.debug({ err: e.message }, 'TLS handshake failed'));
  const channel = new AgentChannel(agents, hub, o.log);
  const unregisterPhases = controlMetrics().datasetsByPhase.set(() => hub.convergencePhases());
  let metrics: MetricsServer | undefined;
  const tick = setInterval(() => {
    hub.sweepLeases().catch((e: unknown) => {
      if (e instanceof StoreUnavailableError) o.log.debug({ err: e.message }, 'could not sweep expired leases');
      else o.log.error({ err: e }, 'could not persist expired leases');
    });
    channel.expireSilentNodes();
    nodeSync?.flush();
    hub.checkReachability();
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
    nodeSync?.close();
    await store.close();
    dirLock?.release();
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
    o.log.info({ apiPort, agentPort, listen: o.listen, dataDir: o.dataDir, store: store.description }, 'control service listening');
    return { apiPort, agentPort, hub, stop, ...(metrics ? { metricsUrl: metrics.url } : {}) };
  } catch (e) {
    await stop();
    throw e;
  }
}
