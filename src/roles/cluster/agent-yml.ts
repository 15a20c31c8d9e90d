// The agent.yml cluster up writes for each node (CONTRACT.md keys). YAML is produced by the
// same library that parses it, so quoting of unusual paths is never our problem.
import { stringify } from 'yaml';
import type { ClusterBackend } from './backends.js';

export interface AgentYmlInput {
  /** Local nodes share one host name; each gets its own (node-1, node-2, …) so views tell them apart. */
  readonly name: string;
  readonly controlHost: string;
  readonly agentPort: number;
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
    'control-service': { hostname: i.controlHost, port: i.agentPort },
    dataset: {
      backend: i.backend, root_path: i.pool, mount_root: i.mountRoot,
      ...(i.transfer ? { transfer: { port: i.transfer.port, listen: i.transfer.listen } } : {}),
    },
    'certificates-dir': i.certificatesDir,
    'state-dir': i.stateDir,
    plugin: { socket: i.pluginSocket, 'api-port': i.apiPort },
  });
}
