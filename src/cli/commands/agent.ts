import { Command, Option } from 'clipanion';
import { BaseCommand } from '../base-command.js';
import { stopSignal } from '../stop-signal.js';
import { DEFAULT_AGENT_CONFIG } from '../../config/agent-config.js';

// clipanion reflows paragraphs; a blank line between lines keeps each YAML line (and its indent).
const EXAMPLE = [
  'version: 1',
  'control-service: {hostname: 10.0.0.1, port: 4524}',
  'dataset: {backend: directory, root_path: /srv/pool, mount_root: /flocker}',
  'certificates-dir: /etc/flocker',
].join('\n\n');

const DETAILS = [
  "Connects to the control service's agent port over mutual TLS with this node's certificate (its node UUID is read from `node.crt`), reports what is mounted here, and creates, attaches, mounts, moves and deletes datasets until this node matches the configuration. While the control service is unreachable it keeps what is mounted and changes nothing.",
  'Stopping (Ctrl-C, SIGTERM) finishes the step in progress and leaves mounts in place; `--unmount-on-exit` unmounts and detaches them instead (the data stays in the pool).',
  'With `metrics-listen: 127.0.0.1:9101` in agent.yml (or just a port, bound to 127.0.0.1) the agent also serves Prometheus metrics over plain HTTP at /metrics on that address.',
  'Example agent.yml (backend: directory or loopback; datasets appear at MOUNT_ROOT/<dataset_id>; certificates-dir holds cluster.crt, node.crt, node.key):',
  EXAMPLE,
].join('\n\n');

export class AgentCommand extends BaseCommand {
  static override paths = [['agent']];
  static override usage = Command.Usage({
    category: 'Services',
    description: 'Run the node agent that converges local storage to the configuration',
    details: DETAILS,
    examples: [
      ['Run with the default configuration file', '$0 agent'],
      ['Run with another configuration (several agents may share a machine)', '$0 agent --config ./node1/agent.yml'],
    ],
  });

  config = Option.String('--config', DEFAULT_AGENT_CONFIG, { description: 'agent.yml to read' });
  unmountOnExit = Option.Boolean('--unmount-on-exit', false, { description: 'unmount and detach local datasets when stopping' });

  async run(): Promise<number> {
    const { loadAgentConfig } = await import('../../config/agent-config.js');
    const { runAgent } = await import('../../roles/agent/agent.js');
    const { createLogger } = await import('../../log.js');
    const config = loadAgentConfig(this.config);
    const stop = stopSignal();
    try {
      await runAgent(config, { log: createLogger('agent'), signal: stop.signal, unmountOnExit: this.unmountOnExit });
    } finally {
      stop.dispose();
    }
    return 0;
  }
}
