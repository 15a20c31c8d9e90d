// The control service's composition root: store + hub + REST API (port 4523) + agent channel
// (port 4524), both over mutual TLS. start → listening; stop → everything closed, db included.
import { createServer, type Server } from 'node:https';
import { rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log.js';
import { UserError } from '../../errors.js';
import { openStore } from '../../store/sqlite.js';
import { readTlsMaterial, refuseOtherPeers, serverTlsOptions } from '../../tls/options.js';
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
  /** --node-timeout: silent this long, a node is unreachable and moves off it need force. */
  readonly unreachableAfterMs?: number;
}

export interface RunningControlService {
  readonly apiPort: number;
  readonly agentPort: number;
  readonly hub: ControlHub;
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
  const store = openStore(o.dataDir);
  const infoFile = join(o.dataDir, CONTROL_JSON);
  rmSync(infoFile, { force: true });
  const hub = new ControlHub({
    store,
    ...(o.nodeTimeoutMs !== undefined ? { nodeTimeoutMs: o.nodeTimeoutMs } : {}),
    ...(o.unreachableAfterMs !== undefined ? { unreachableAfterMs: o.unreachableAfterMs } : {}),
  });
  const app = createApp(hub, o.log);
  const api = createServer(serverTlsOptions(tls), app.callback());
  const agents = createServer(serverTlsOptions(tls), (_req, res) => {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ description: 'The agent port speaks WebSocket only.' }));
  });
  refuseOtherPeers(api, 'user-', (reason, s) => o.log.warn({ peer: s.remoteAddress, reason }, 'refused an API connection'));
  refuseOtherPeers(agents, 'node-', (reason, s) => o.log.warn({ peer: s.remoteAddress, reason }, 'refused an agent connection'));
  for (const s of [api, agents]) s.on('tlsClientError', (e) => o.log.debug({ err: e.message }, 'TLS handshake failed'));
  const channel = new AgentChannel(agents, hub, o.log);
  const tick = setInterval(() => {
    hub.sweepLeases().catch((e: unknown) => o.log.error({ err: e }, 'could not persist expired leases'));
    channel.expireSilentNodes();
    hub.checkReachability();
  }, 1000);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(tick);
    await channel.close();
    await Promise.all([closeServer(api), closeServer(agents)]);
    await store.close();
    rmSync(infoFile, { force: true });
  };

  try {
    const apiPort = await listen(api, o.apiPort, o.listen, 'REST API');
    const agentPort = await listen(agents, o.agentPort, o.listen, 'agent channel');
    // Written atomically once both listen: launchers wait for this file.
    const tmp = `${infoFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ pid: process.pid, api_port: apiPort, agent_port: agentPort })}\n`);
    renameSync(tmp, infoFile);
    o.log.info({ apiPort, agentPort, listen: o.listen, dataDir: o.dataDir }, 'control service listening');
    return { apiPort, agentPort, hub, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
