// `flocker plugin`: the Docker volume plugin. Thin: the work is in src/roles/plugin/.
import { Command, Option } from 'clipanion';
import { resolve } from 'node:path';
import { BaseCommand } from '../base-command.js';
import { stopSignal } from '../stop-signal.js';
import { UserError } from '../../errors.js';
import { parseMetricsListen } from '../../metrics/listen.js';

export class PluginCommand extends BaseCommand {
  static override paths = [['plugin']];
  static override usage = Command.Usage({
    category: 'Services',
    description: 'Run the Docker volume plugin (driver name: flocker)',
    details: `
      Serves Docker's volume plugin protocol on a unix socket, so \`docker volume\` and
      \`docker run -v NAME:/path --volume-driver flocker\` use Flocker datasets. Docker finds the
      driver by the socket's name in /run/docker/plugins: \`flocker.sock\` is the driver \`flocker\`.

      A volume is the dataset whose metadata \`name\` is the volume name. Mounting it moves it to
      this node and takes a lease, so no other node can take it while a container uses it; the
      last unmount releases the lease. \`docker volume rm\` deletes the dataset (refused while
      any node holds a lease). Options for \`docker volume create\`: \`size\` (e.g. 100M, 10G;
      binary units; at least 64M; default 75G) and \`profile\`.

      The plugin reads agent.yml for the control service's hostname (port \`plugin.api-port\`,
      default 4523) and the certificates directory, which must hold \`cluster.crt\`, \`node.crt\`
      (which node this is), \`plugin.crt\` and \`plugin.key\` (an API user certificate, e.g. from
      \`flocker ca create-api-certificate plugin\`). It starts even while the control service is
      down, answering Docker with "cannot reach the control service" until it is back.
    `,
    examples: [
      ['Run with /etc/flocker/agent.yml', '$0 plugin'],
      ['Run with another configuration and socket (driver name flocker2)', '$0 plugin --config ./agent.yml --socket /run/docker/plugins/flocker2.sock'],
      ['Then, with Docker: create a 10 GiB volume', 'docker volume create -d flocker --name pgdata -o size=10G'],
      ['Use it in a container (moved to this node if needed)', 'docker run --rm -v pgdata:/data --volume-driver flocker busybox sh -c "echo hi > /data/f"'],
      ['List, inspect and remove', 'docker volume ls; docker volume inspect pgdata; docker volume rm pgdata'],
    ],
  });

  config = Option.String('-c,--config', '/etc/flocker/agent.yml', { description: 'The agent configuration file' });
  socket = Option.String('--socket', { description: 'Unix socket to serve (default: plugin.socket from agent.yml, else /run/docker/plugins/flocker.sock)' });
  metricsListen = Option.String('--metrics-listen', { description: 'Serve Prometheus /metrics over plain HTTP on ADDR:PORT (or PORT on 127.0.0.1); off by default' });
  // Hidden: tests shorten how long a Mount may wait for the cluster (seconds; default 100).
  mountTimeout = Option.String('--mount-timeout', { hidden: true });

  async run(): Promise<number> {
    let mountTimeoutMs: number | undefined;
    if (this.mountTimeout !== undefined) {
      const s = Number(this.mountTimeout);
      if (!Number.isFinite(s) || s <= 0 || s > 115) throw new UserError(`--mount-timeout must be seconds from 0 to 115, got ${JSON.stringify(this.mountTimeout)}`);
      mountTimeoutMs = s * 1000;
    }
    const metricsListen = this.metricsListen === undefined ? undefined : parseMetricsListen(this.metricsListen);
    const { loadAgentConfig } = await import('../../config/agent-config.js');
    const { createLogger } = await import('../../log.js');
    const { startPluginRole } = await import('../../roles/plugin/plugin.js');
    const { createControlClient } = await import('../../client/control-client.js');
    const config = loadAgentConfig(this.config);
    const log = createLogger('plugin');
    const role = await startPluginRole({
      config, log, makeClient: createControlClient,
      ...(this.socket !== undefined ? { socket: resolve(this.socket) } : {}),
      ...(mountTimeoutMs !== undefined ? { mountTimeoutMs } : {}),
      ...(metricsListen ? { metricsListen } : {}),
    });
    this.context.stdout.write(`flocker plugin: serving ${role.socket} for node ${role.nodeId}\n`);
    await stopSignal().stopped;
    log.info('stopping');
    await role.stop();
    return 0;
  }
}
