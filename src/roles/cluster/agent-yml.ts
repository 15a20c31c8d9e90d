// The agent.yml cluster up writes for each node (CONTRACT.md keys). YAML is produced by the
// same library that parses it, so quoting of unusual paths is never our problem.
import { stringify } from 'yaml';
import type { ClusterBackend } from './backends.js';

/** One agent.yml `control-service` entry. */
export interface ControlAddress { readonly hostname: string; readonly port: number }

export interface AgentYmlInput {
  /** Local nodes share one host name; each gets its own (node-1, node-2, …) so views tell them apart. */
  readonly name: string;
  /** Agent ports of the control services, in the order this agent tries them (see replicaOrder). */
  readonly controlServices: readonly ControlAddress[];
  /** The plugin's REST API port (agent.yml has one: the API of the first control service). */
  readonly apiPort: number;
  readonly backend: ClusterBackend;
  readonly pool: string;
  readonly mountRoot: string;
  readonly certificatesDir: string;
  readonly stateDir: string;
  readonly pluginSocket: string;
  /** p2p: where this node serves agent-to-agent transfers. */
  readonly transfer?: { readonly port: number; readonly listen: string };
}

export function agentYml(i: AgentYmlInput): string {
  return stringify({
    version: 1,
    name: i.name,
    // One control service keeps the original's single mapping; several are CONTRACT.md's list.
    'control-service': i.controlServices.length === 1 ? i.controlServices[0] : i.controlServices,
    dataset: {
      backend: i.backend, root_path: i.pool, mount_root: i.mountRoot,
      ...(i.transfer ? { transfer: { port: i.transfer.port, listen: i.transfer.listen } } : {}),
    },
    'certificates-dir': i.certificatesDir,
    'state-dir': i.stateDir,
    plugin: { socket: i.pluginSocket, 'api-port': i.apiPort },
  });
}

/**
 * The replicas in the order agent `agentIndex` tries them: every replica, starting at replica
 * `agentIndex mod N`, so agents start spread over the replicas and each can still fail over to
 * all the others.
 */
export function replicaOrder<T>(replicas: readonly T[], agentIndex: number): T[] {
  const start = replicas.length === 0 ? 0 : agentIndex % replicas.length;
  return [...replicas.slice(start), ...replicas.slice(0, start)];
}
