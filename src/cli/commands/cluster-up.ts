import { Command, Option } from 'clipanion';
import { BaseCommand } from '../base-command.js';
import { UserError } from '../../errors.js';
import { CLUSTER_BACKENDS, checkClusterBackend } from '../../roles/cluster/backends.js';

function intOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < min || n > max) {
    throw new UserError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

export class ClusterUpCommand extends BaseCommand {
  static override paths = [['cluster', 'up']];
  static override usage = Command.Usage({
    category: 'Local cluster',
    description: 'Bring up a whole local cluster (control, agents, dashboard) in one command',
    details: `
      Makes certificates in DIR/certs (kept for the next run), starts \`flocker control\` and one
      \`flocker agent\` per node (and a Docker plugin per node with --plugins) as child processes,
      and writes DIR/cluster.json once every node has reported. Shows the dashboard when stdout is
      a terminal, otherwise a live log of convergence. Ctrl-C stops everything and unmounts what
      the agents exposed. Port 0 picks free ports. Logs of every process are in DIR/logs.

      With --isolate (root) every node is a host of its own: its agent and plugin run in their own
      network namespace, with their own address on a bridge made for the cluster (control listens
      on the bridge), and in their own mount namespace with their own pool, so the nodes share
      nothing but the network. Ctrl-C removes the namespaces, links, mounts and loop devices.

      With \`--store etcd\` a local 3-member etcd (Debian's etcd-server, /usr/bin/etcd) holds the
      configuration in DIR/etcd, and \`--control-replicas N\` control services share it, replica
      N on 127.0.0.N with the same --api-port/--agent-port (with --isolate: on the gateway, each
      with its own ports); agents and plugins are spread over them and fail over between them.
    `,
    examples: [
      ['Three nodes on the directory backend, with the dashboard', 'flocker cluster up'],
      ['Two loopback nodes (root), on free ports, printing a log', 'flocker cluster up --nodes 2 --backend loopback --api-port 0 --agent-port 0 --no-dashboard'],
      ['Configuration on a local 3-member etcd, two control replicas', 'flocker cluster up --store etcd --control-replicas 2'],
      ['Docker plugins Docker can find: drivers flocker-node-1, flocker-node-2 (root)', 'flocker cluster up --nodes 2 --plugins --plugin-dir /run/docker/plugins'],
      ['Three nodes that share nothing but a network, data moved between them (root)', 'flocker cluster up --backend p2p --isolate'],
    ],
  });

  dir = Option.String('--dir', './.flocker', { description: 'Folder for certificates, pool, node folders and logs' });
  nodes = Option.String('--nodes', '3', { description: 'Number of nodes (agents)' });
  backend = Option.String('--backend', 'directory', { description: `Storage backend: ${CLUSTER_BACKENDS.join(', ')} (all but directory need root)` });
  isolate = Option.Boolean('--isolate', false, { description: 'Root: every node its own host (network + mount namespace, address, pool)' });
  apiPort = Option.String('--api-port', '4523', { description: 'REST API port (0: any free port)' });
  agentPort = Option.String('--agent-port', '4524', { description: 'Agent channel port (0: any free port)' });
  dashboard = Option.Boolean('--dashboard', true, { description: 'Show the dashboard when stdout is a terminal (--no-dashboard: a text log)' });
  plugins = Option.Boolean('--plugins', false, { description: 'Also run a Docker volume plugin per node (socket DIR/node-N/plugin.sock)' });
  pluginDir = Option.String('--plugin-dir', {
    description: 'With --plugins: put the sockets here as flocker-node-N.sock (e.g. /run/docker/plugins, where Docker finds drivers)',
  });
  store = Option.String('--store', 'sqlite', { description: 'Where control keeps the configuration: sqlite (one control service) or etcd (a local 3-member etcd from /usr/bin/etcd)' });
  controlReplicas = Option.String('--control-replicas', { description: 'Control services sharing the configuration (with --store etcd; default 2 there, 1 with sqlite)' });
  // For test harnesses: stop the cluster when whoever started us is gone (even if SIGKILLed).
  exitWithParent = Option.Boolean('--exit-with-parent', false, { hidden: true });

  async run(): Promise<number> {
    const nodes = intOption('--nodes', this.nodes, 1, 64);
    const apiPort = intOption('--api-port', this.apiPort, 0, 65535);
    const agentPort = intOption('--agent-port', this.agentPort, 0, 65535);
    const backend = checkClusterBackend(this.backend, process.getuid?.() === 0, this.isolate);
    if (this.pluginDir !== undefined && !this.plugins) {
      throw new UserError('--plugin-dir says where the Docker plugins listen; add --plugins to run them');
    }
    if (this.store !== 'sqlite' && this.store !== 'etcd') throw new UserError(`--store must be sqlite or etcd, got ${JSON.stringify(this.store)}`);
    const store = this.store;
    const controlReplicas = this.controlReplicas === undefined ? (store === 'etcd' ? 2 : 1) : intOption('--control-replicas', this.controlReplicas, 1, 9);
    if (controlReplicas > 1 && store !== 'etcd') {
      throw new UserError('several control replicas share their configuration through etcd: add --store etcd');
    }
    const stdout = this.context.stdout as NodeJS.WriteStream;
    const { runClusterUp } = await import('../../roles/cluster/run.js');
    return runClusterUp(
      { dir: this.dir, nodes, backend, isolate: this.isolate, apiPort, agentPort, plugins: this.plugins, store, controlReplicas, ...(this.pluginDir !== undefined ? { pluginDir: this.pluginDir } : {}) },
      { stdout, stderr: this.context.stderr, dashboard: this.dashboard && stdout.isTTY === true, exitWithParent: this.exitWithParent },
    );
  }
}
