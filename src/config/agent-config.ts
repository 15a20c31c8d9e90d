// agent.yml: the original's keys plus ours (CONTRACT.md). Every error names the file and the key.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../errors.js';
import { fsReason } from '../read-text.js';
import { parseMetricsListen, type ListenAddress } from '../metrics/listen.js';

export const DEFAULT_AGENT_CONFIG = '/etc/flocker/agent.yml';

export type BackendName = 'directory' | 'loopback' | 'p2p';
export const BACKENDS: readonly BackendName[] = ['directory', 'loopback', 'p2p'];

/** p2p: where this agent serves agent-to-agent transfers (mutual TLS, node- certificates). */
export interface TransferConfig {
  readonly port: number;
  readonly listen: string;
}
export const DEFAULT_TRANSFER: TransferConfig = { port: 4526, listen: '0.0.0.0' };

export interface DatasetConfig {
  readonly backend: BackendName;
  /** The storage pool, shared by the nodes that can reach it. */
  readonly rootPath: string;
  /** Datasets are exposed at MOUNT_ROOT/<dataset_id>. */
  readonly mountRoot: string;
  /** loopback only; defaults to the node UUID so a restart keeps its attachments. */
  readonly computeInstanceId?: string;
  readonly allocationUnit: number;
  /** Always set by the parser (defaults filled in); optional so configurations built in code may leave it out. */
  readonly transfer?: TransferConfig;
}

export interface AgentConfig {
  readonly file: string;
  readonly controlService: { readonly hostname: string; readonly port: number };
  readonly dataset: DatasetConfig;
  readonly certificatesDir: string;
  readonly stateDir: string;
  readonly plugin: { readonly socket: string; readonly apiPort: number };
  /** `metrics-listen`: the agent serves Prometheus /metrics here; off when absent. */
  readonly metricsListen?: ListenAddress;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
  if (!isObj(doc)) throw new ConfigError(file, undefined, 'expected a YAML mapping at the top level');
  const r = new Reader(file);

  const version = doc['version'];
  if (version !== 1) throw new ConfigError(file, 'version', `must be 1 (got ${JSON.stringify(version ?? null)})`);

  const cs = r.obj(doc, 'control-service', true);
  const hostname = r.str(cs, 'control-service.hostname', 'hostname', undefined);
  const port = r.port(cs, 'control-service.port', 'port', 4524);

  const ds = r.obj(doc, 'dataset', true);
  const known = ['backend', 'root_path', 'mount_root', 'compute_instance_id', 'allocation_unit', 'transfer'];
  for (const k of Object.keys(ds)) {
    if (!known.includes(k)) throw new ConfigError(file, `dataset.${k}`, `unknown key (known: ${known.join(', ')})`);
  }
  const backend = r.str(ds, 'dataset.backend', 'backend', undefined);
  if (!BACKENDS.includes(backend as BackendName)) {
    throw new ConfigError(file, 'dataset.backend', `unknown backend ${JSON.stringify(backend)} (choose ${BACKENDS.join(' or ')})`);
  }
  const cid = ds['compute_instance_id'];
  const tr = r.obj(ds, 'transfer', false, 'dataset.transfer');
  for (const k of Object.keys(tr)) {
    if (k !== 'port' && k !== 'listen') throw new ConfigError(file, `dataset.transfer.${k}`, 'unknown key (known: port, listen)');
  }
  const dataset: DatasetConfig = {
    backend: backend as BackendName,
    rootPath: r.str(ds, 'dataset.root_path', 'root_path', '/var/lib/flocker/pool'),
    mountRoot: r.str(ds, 'dataset.mount_root', 'mount_root', '/flocker'),
    allocationUnit: r.int(ds, 'dataset.allocation_unit', 'allocation_unit', 1, 1),
    transfer: {
      port: r.port(tr, 'dataset.transfer.port', 'port', DEFAULT_TRANSFER.port),
      listen: r.str(tr, 'dataset.transfer.listen', 'listen', DEFAULT_TRANSFER.listen),
    },
    ...(cid !== undefined ? { computeInstanceId: r.str(ds, 'dataset.compute_instance_id', 'compute_instance_id', undefined) } : {}),
  };

  const pl = r.obj(doc, 'plugin', false);
  const base = dirname(file);
  const ml = doc['metrics-listen'];
  let metricsListen: ListenAddress | undefined;
  if (ml !== undefined && ml !== null) {
    // A bare port is a YAML number.
    const text = typeof ml === 'number' ? String(ml) : r.str(doc, 'metrics-listen', 'metrics-listen', undefined);
    try {
      metricsListen = parseMetricsListen(text, 'value');
    } catch (e) {
      throw new ConfigError(file, 'metrics-listen', (e as Error).message);
    }
  }
  return {
    file,
    controlService: { hostname, port },
    dataset: { ...dataset, rootPath: resolve(base, dataset.rootPath), mountRoot: resolve(base, dataset.mountRoot) },
    certificatesDir: resolve(base, r.str(doc, 'certificates-dir', 'certificates-dir', base)),
    stateDir: resolve(base, r.str(doc, 'state-dir', 'state-dir', '/var/lib/flocker')),
    plugin: {
      socket: resolve(base, r.str(pl, 'plugin.socket', 'socket', '/run/docker/plugins/flocker.sock')),
      apiPort: r.port(pl, 'plugin.api-port', 'api-port', 4523),
    },
    ...(metricsListen ? { metricsListen } : {}),
  };
}

class Reader {
  constructor(private readonly file: string) {}

  obj(parent: Obj, key: string, required: boolean, path = key): Obj {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (required) throw new ConfigError(this.file, path, 'required key is missing');
      return {};
    }
    if (!isObj(v)) throw new ConfigError(this.file, path, `must be a mapping, got ${describe(v)}`);
    return v;
  }

  str(parent: Obj, path: string, key: string, dflt: string | undefined): string {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) throw new ConfigError(this.file, path, 'required key is missing');
      return dflt;
    }
    if (typeof v !== 'string' || v === '') throw new ConfigError(this.file, path, `must be a non-empty string, got ${describe(v)}`);
    return v;
  }

  int(parent: Obj, path: string, key: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = parent[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(this.file, path, `must be an integer from ${min} to ${max}, got ${describe(v)}`);
    }
    return v;
  }

  port(parent: Obj, path: string, key: string, dflt: number): number {
    return this.int(parent, path, key, dflt, 1, 65535);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v);
  if (isObj(v)) return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
