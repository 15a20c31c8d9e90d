// Composition root of `flocker plugin`: agent.yml → who we are (node.crt) → a REST client with
// plugin.crt → the VolumeDriver → the unix socket. Nothing here waits for the control service:
// the plugin serves Docker at once and answers a clear Err while the cluster is unreachable.
import { join } from 'node:path';
import type { ClientOptions, ControlClient } from '../../client/types.js';
import type { AgentConfig } from '../../config/agent-config.js';
import type { Logger } from '../../log.js';
import type { ListenAddress } from '../../metrics/listen.js';
import { startMetricsServer } from '../../metrics/server.js';
import { readNodeUuid } from '../../tls/identity.js';
import { readTlsMaterial } from '../../tls/options.js';
import { VolumeDriver } from './handlers.js';
import { MountCounts } from './mount-counts.js';
import { startPluginServer } from './server.js';

/** Docker gives a Mount 120 s; fail before it does, so the user sees our reason, not a timeout. */
export const DEFAULT_MOUNT_TIMEOUT_MS = 100_000;

export interface PluginRoleOptions {
  readonly config: AgentConfig;
  /** Overrides agent.yml's plugin.socket. */
  readonly socket?: string;
  readonly mountTimeoutMs?: number;
  /** Serve Prometheus /metrics here (plain HTTP); off when absent. */
  readonly metricsListen?: ListenAddress;
  readonly log: Logger;
  readonly makeClient: (o: ClientOptions) => ControlClient;
}

export interface PluginRole {
  readonly socket: string;
  readonly nodeId: string;
  stop(): Promise<void>;
}

export async function startPluginRole(o: PluginRoleOptions): Promise<PluginRole> {
  const { config, log } = o;
  const certs = config.certificatesDir;
  const nodeId = readNodeUuid(join(certs, 'node.crt'));
  const tls = readTlsMaterial(certs, { cert: 'plugin.crt', key: 'plugin.key' }, `set certificates-dir in ${config.file}`);
  // Every control service of agent.yml, each on the plugin's API port, tried in order.
  const [first, ...rest] = config.controlServices.map((a) => ({ host: a.hostname, port: config.plugin.apiPort }));
  const client = o.makeClient({
    ...first!, fallbacks: rest, ...tls,
    onFailover: (to, from, reason) => log.warn({ from, to, reason }, 'control service unreachable; using the next one'),
  });
  const counts = new MountCounts(join(config.stateDir, 'plugin-mounts.json'), log);
  const driver = new VolumeDriver({
    client, nodeId, counts, mountTimeoutMs: o.mountTimeoutMs ?? DEFAULT_MOUNT_TIMEOUT_MS, log,
  });
  const socket = o.socket ?? config.plugin.socket;
  const server = await startPluginServer({ socket, driver, controlAddress: () => client.address, log });
  let metrics;
  try {
    metrics = o.metricsListen ? await startMetricsServer(o.metricsListen, log) : undefined;
  } catch (e) {
    await server.close();
    client.close();
    throw e;
  }
  log.info({ node: nodeId, control: client.address, socket }, 'flocker plugin ready');
  return {
    socket,
    nodeId,
    async stop() {
      await server.close();
      await metrics?.close();
      client.close();
    },
  };
}
