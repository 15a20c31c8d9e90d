// `flocker control`: the control service. Thin: the service is src/roles/control/service.ts.
import { Command, Option } from 'clipanion';
import { BaseCommand } from '../base-command.js';
import { stopSignal } from '../stop-signal.js';
import { UserError } from '../../errors.js';
import { parseMetricsListen } from '../../metrics/listen.js';

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UserError(`${flag} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  return n;
}

export class ControlCommand extends BaseCommand {
  static override paths = [['control']];
  static override usage = Command.Usage({
    category: 'Services',
    description: 'Run the control service: REST API v1 and the agent channel',
    details: `
      Keeps the cluster's desired configuration (datasets and leases) in \`DATA_DIR/control.sqlite\`,
      serves Flocker's REST API v1 over mutual TLS on the API port (clients need a \`user-\`
      certificate) and the agent channel on the agent port (agents need a \`node-\` certificate).

      Uses \`cluster.crt\`, \`control-service.crt\` and \`control-service.key\` from the certificates
      directory. Port 0 picks a free port. Once both ports listen, \`DATA_DIR/control.json\` holds
      \`{"pid", "api_port", "agent_port"}\`. Only one control service may use a data directory.

      With \`--metrics-listen ADDR:PORT\` (or just PORT, bound to 127.0.0.1) it also serves
      Prometheus metrics over plain HTTP at \`/metrics\` on that address; never on the API port.

      A node whose agent has been silent for FLOCKER_NODE_TIMEOUT_MS (default 120000) is forgotten.
      Stops cleanly on SIGINT or SIGTERM. Logs are JSON lines on stderr (FLOCKER_LOG_LEVEL).
    `,
    examples: [
      ['Run with the default ports and certificates in /etc/flocker', '$0 control --data-dir /var/lib/flocker'],
      ['Run on free ports with certificates in the current directory', '$0 control --data-dir ./data --certificates-dir . --api-port 0 --agent-port 0'],
      ['Listen only on the loopback interface', '$0 control --data-dir ./data --listen 127.0.0.1'],
    ],
  });

  // Checked in run(): clipanion reports a missing required option as an unknown command.
  dataDir = Option.String('--data-dir', { description: 'Folder for control.sqlite, control.pid and control.json (required)' });
  apiPort = Option.String('--api-port', '4523', { description: 'REST API port (default 4523; 0 = any free port)' });
  agentPort = Option.String('--agent-port', '4524', { description: 'Agent channel port (default 4524; 0 = any free port)' });
  listen = Option.String('--listen', '0.0.0.0', { description: 'Address to listen on (default 0.0.0.0)' });
  certificatesDir = Option.String('--certificates-dir', '/etc/flocker', {
    description: 'Folder holding cluster.crt, control-service.crt, control-service.key (default /etc/flocker)',
  });

  metricsListen = Option.String('--metrics-listen', { description: 'Serve Prometheus /metrics over plain HTTP on ADDR:PORT (or PORT on 127.0.0.1); off by default' });

  async run(): Promise<number> {
    if (this.dataDir === undefined || this.dataDir === '') {
      throw new UserError('--data-dir is required: the folder where the control service keeps its configuration (e.g. --data-dir /var/lib/flocker)');
    }
    const dataDir = this.dataDir;
    const apiPort = port(this.apiPort, '--api-port');
    const agentPort = port(this.agentPort, '--agent-port');
    const metricsListen = this.metricsListen === undefined ? undefined : parseMetricsListen(this.metricsListen);
    if (metricsListen && metricsListen.port !== 0 && (metricsListen.port === apiPort || metricsListen.port === agentPort)) {
      throw new UserError(`--metrics-listen must use a port of its own, not the ${metricsListen.port === apiPort ? 'API' : 'agent'} port ${metricsListen.port}`);
    }
    const timeoutEnv = process.env.FLOCKER_NODE_TIMEOUT_MS;
    const nodeTimeoutMs = timeoutEnv !== undefined && timeoutEnv !== '' ? Number(timeoutEnv) : undefined;
    if (nodeTimeoutMs !== undefined && !(Number.isFinite(nodeTimeoutMs) && nodeTimeoutMs > 0)) {
      throw new UserError(`FLOCKER_NODE_TIMEOUT_MS must be a positive number of milliseconds, got ${JSON.stringify(timeoutEnv)}`);
    }
    const [{ startControlService }, { createLogger }] = await Promise.all([
      import('../../roles/control/service.js'),
      import('../../log.js'),
    ]);
    const log = createLogger('control');
    const service = await startControlService({
      dataDir, certificatesDir: this.certificatesDir, apiPort, agentPort, listen: this.listen, log,
      ...(nodeTimeoutMs !== undefined ? { nodeTimeoutMs } : {}),
      ...(metricsListen ? { metricsListen } : {}),
    });
    const signal = await stopSignal().stopped;
    log.info({ signal }, 'stopping');
    await service.stop();
    return 0;
  }
}
