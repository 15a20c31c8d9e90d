// The agent.yml cluster up writes for each node (CONTRACT.md keys). YAML is produced by the
// same library that parses it, so quoting of unusual paths is never our problem.
import { stringify } from 'yaml';
import type { BackendName } from '../../backends/backend.js';

export interface AgentYmlInput {
  /** Local nodes share one host name; each gets its own (node-1, node-2, …) so views tell them apart. */
  readonly name: string;
  readonly controlHost: string;
  readonly agentPort: number;
  readonly apiPort: number;
  readonly backend: BackendName;
  readonly pool: string;
  readonly mountRoot: string;
  readonly certificatesDir: string;
  readonly stateDir: string;
  readonly pluginSocket: string;
}

export function agentYml(i: AgentYmlInput): string {
  return stringify({
    version: 1,
    name: i.name,
    'control-service': { hostname: i.controlHost, port: i.agentPort },
    dataset: { backend: i.backend, root_path: i.pool, mount_root: i.mountRoot },
    'certificates-dir': i.certificatesDir,
    'state-dir': i.stateDir,
    plugin: { socket: i.pluginSocket, 'api-port': i.apiPort },
  });
}
