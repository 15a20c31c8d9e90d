// agent.yml: the original's keys plus ours (CONTRACT.md), checked by one compiled schema. Every
// error names the file and the key.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../errors.js';
import { fsReason } from '../read-text.js';
import { DEFAULT_TRANSFER_PORT } from '../model/cluster-state.js';
import { compileCheck } from '../validate.js';
import { BACKENDS, type BackendName } from '../backends/backend.js';
import { parseMetricsListen, type ListenAddress } from '../metrics/listen.js';

export const DEFAULT_AGENT_CONFIG = '/etc/flocker/agent.yml';


/** p2p: where this agent serves agent-to-agent transfers (mutual TLS, node- certificates). */
export interface TransferConfig {
  readonly port: number;
  readonly listen: string;
}
export const DEFAULT_TRANSFER: TransferConfig = { port: DEFAULT_TRANSFER_PORT, listen: '0.0.0.0' };

export interface DatasetConfig {
  readonly backend: BackendName;
  /** The storage pool, shared by the nodes that can reach it (p2p: this node's own). */
  readonly rootPath: string;
  /** Datasets are exposed at MOUNT_ROOT/<dataset_id>. */
  readonly mountRoot: string;
  /** loopback only; defaults to the node UUID so a restart keeps its attachments. */
  readonly computeInstanceId?: string;
  readonly allocationUnit: number;
  /** Always set by the parser (defaults filled in); optional so configurations built in code may leave it out. */
  readonly transfer?: TransferConfig;
}

export interface ControlAddress {
  readonly hostname: string;
  readonly port: number;
}

export interface AgentConfig {
  readonly file: string;
  /** Shown beside the node UUID everywhere; defaults to the host name. */
  readonly name: string;
  /** The first of controlServices. */
  readonly controlService: ControlAddress;
  /** Tried in order; the agent moves to the next when one cannot be reached. */
  readonly controlServices: readonly ControlAddress[];
  readonly dataset: DatasetConfig;
  readonly certificatesDir: string;
  readonly stateDir: string;
  readonly plugin: { readonly socket: string; readonly apiPort: number };
  /** `metrics-listen`: the agent serves Prometheus /metrics here; off when absent. */
  readonly metricsListen?: ListenAddress;
}

const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const text = { type: 'string', minLength: 1 } as const;
const controlAddress = {
  type: 'object',
  required: ['hostname'],
  additionalProperties: false,
  properties: { hostname: text, port },
} as const;

// The top level and `plugin` stay open (unknown keys ignored, as before); the sections where a
// typo would silently change behaviour are closed.
const agentYmlSchema = {
  type: 'object',
  required: ['version', 'control-service', 'dataset'],
  properties: {
    version: { const: 1 },
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
      description: 'letters, digits and . _ - (at most 63, starting with a letter or digit)',
    },
    'control-service': {
      if: { type: 'array' },
      then: { type: 'array', minItems: 1, items: controlAddress },
      else: controlAddress,
    },
    dataset: {
      type: 'object',
      required: ['backend'],
      additionalProperties: false,
      properties: {
        backend: { enum: [...BACKENDS] },
        root_path: text,
        mount_root: text,
        compute_instance_id: text,
        allocation_unit: { type: 'integer', minimum: 1 },
        transfer: { type: 'object', additionalProperties: false, properties: { port, listen: text } },
      },
    },
    'certificates-dir': text,
    'state-dir': text,
    plugin: { type: 'object', properties: { socket: text, 'api-port': port } },
    // ADDR:PORT, or a bare PORT (a YAML number); metrics/listen.ts reads it.
    'metrics-listen': { type: ['string', 'integer'] },
  },
} as const;

interface ControlAddressYml { readonly hostname: string; readonly port?: number }
interface AgentYml {
  readonly version: 1;
  readonly name?: string;
  readonly 'control-service': ControlAddressYml | readonly ControlAddressYml[];
  readonly dataset: {
    readonly backend: BackendName;
    readonly root_path?: string;
    readonly mount_root?: string;
    readonly compute_instance_id?: string;
    readonly allocation_unit?: number;
    readonly transfer?: { readonly port?: number; readonly listen?: string };
  };
  readonly 'certificates-dir'?: string;
  readonly 'state-dir'?: string;
  readonly plugin?: { readonly socket?: string; readonly 'api-port'?: number };
  readonly 'metrics-listen'?: string | number;
}

const checkAgentYml = compileCheck<AgentYml>(agentYmlSchema);

export function loadAgentConfig(path: string = DEFAULT_AGENT_CONFIG): AgentConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, undefined, `cannot read configuration (${fsReason(e)})`);
  }
  return parseAgentConfig(text, file);
}

export function parseAgentConfig(text: string, file: string): AgentConfig {
  let doc: unknown;
  try {
    // Warnings (an unknown tag or directive) would go to stderr as process warnings; the checks below judge the result.
    doc = parseYaml(text, { logLevel: 'error' });
  } catch (e) {
    const msg = e instanceof YAMLParseError ? (e.message.split('\n')[0] ?? e.message).replace(/:\s*$/, '') : String(e);
    throw new ConfigError(file, undefined, `malformed YAML: ${msg}`);
  }
  const checked = checkAgentYml(doc);
  if (!checked.ok) {
    const p = checked.problems[0]!;
    if (p.path === '') throw new ConfigError(file, undefined, 'expected a YAML mapping at the top level');
    // YAML words for JSON's: a mapping, a list.
    const message = p.message.replace(/\ban object\b/g, 'a mapping').replace(/\ban array\b/g, 'a list');
    throw new ConfigError(file, p.path, 'value' in p ? `${message}, got ${describe(p.value)}` : message);
  }
  const y = checked.value;
  const ml = y['metrics-listen'];
  let metricsListen: ListenAddress | undefined;
  if (ml !== undefined) {
    try {
      metricsListen = parseMetricsListen(String(ml), 'value');
    } catch (e) {
      throw new ConfigError(file, 'metrics-listen', (e as Error).message);
    }
  }
  const cs = y['control-service'];
  const controlServices = (Array.isArray(cs) ? cs as readonly ControlAddressYml[] : [cs as ControlAddressYml]).map((a) => ({ hostname: a.hostname, port: a.port ?? 4524 }));
  const ds = y.dataset;
  const base = dirname(file);
  return {
    file,
    name: y.name ?? osHostname(),
    controlService: controlServices[0]!,
    controlServices,
    dataset: {
      backend: ds.backend,
      rootPath: resolve(base, ds.root_path ?? '/var/lib/flocker/pool'),
      mountRoot: resolve(base, ds.mount_root ?? '/flocker'),
      allocationUnit: ds.allocation_unit ?? 1,
      ...(ds.compute_instance_id !== undefined ? { computeInstanceId: ds.compute_instance_id } : {}),
      transfer: { port: ds.transfer?.port ?? DEFAULT_TRANSFER.port, listen: ds.transfer?.listen ?? DEFAULT_TRANSFER.listen },
    },
    certificatesDir: resolve(base, y['certificates-dir'] ?? base),
    stateDir: resolve(base, y['state-dir'] ?? '/var/lib/flocker'),
    plugin: {
      socket: resolve(base, y.plugin?.socket ?? '/run/docker/plugins/flocker.sock'),
      apiPort: y.plugin?.['api-port'] ?? 4523,
    },
    ...(metricsListen !== undefined ? { metricsListen } : {}),
  };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
