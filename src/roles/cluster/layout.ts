// Where `flocker cluster up` keeps everything for one local cluster, under one folder (--dir).
import { join, resolve } from 'node:path';

export interface NodeLayout {
  /** 1-based, as shown to people: node-1, node-2 ... */
  readonly index: number;
  readonly name: string;
  readonly dir: string;
  readonly config: string;
  readonly certsDir: string;
  readonly mountRoot: string;
  readonly stateDir: string;
  readonly pluginSocket: string;
  /** This node's own pool (p2p, or --isolate: nodes that share nothing); else the cluster's shared one. */
  readonly pool: string;
}

export interface ClusterLayout {
  readonly dir: string;
  /** The CA, the control service's, and the `user`/`plugin` API certificates. */
  readonly certsDir: string;
  readonly controlDataDir: string;
  /** What control writes once it listens: {pid, api_port, agent_port}. */
  readonly controlJson: string;
  /** With --store etcd: the local etcd members' data and logs. */
  readonly etcdDir: string;
  /** The shared storage pool of every node (unless each node has its own: NodeLayout.pool). */
  readonly pool: string;
  /** What --isolate made (bridge, namespaces), kept while they exist: a later run removes leftovers. */
  readonly hostsFile: string;
  readonly logsDir: string;
  readonly clusterJson: string;
  /** "PID NAME" per line for every process started, while they run. */
  readonly pidsFile: string;
  /** Held by the one `cluster up` using this folder. */
  readonly lockFile: string;
  readonly nodes: readonly NodeLayout[];
}

/**
 * `pluginDir` (optional) puts the plugin sockets where Docker looks for them, named
 * flocker-node-N.sock so each node's plugin is the volume driver `flocker-node-N`.
 */
export function clusterLayout(dir: string, nodes: number, pluginDir?: string, ownPools = false): ClusterLayout {
  const root = resolve(dir);
  const controlDataDir = join(root, 'control');
  const pool = join(root, 'pool');
  return {
    dir: root,
    certsDir: join(root, 'certs'),
    controlDataDir,
    controlJson: join(controlDataDir, 'control.json'),
    etcdDir: join(root, 'etcd'),
    pool,
    hostsFile: join(root, 'hosts.json'),
    logsDir: join(root, 'logs'),
    clusterJson: join(root, 'cluster.json'),
    pidsFile: join(root, 'pids'),
    lockFile: join(root, 'cluster.lock'),
    nodes: Array.from({ length: nodes }, (_, i) => nodeLayout(root, i + 1, pluginDir === undefined ? undefined : resolve(pluginDir), ownPools ? undefined : pool)),
  };
}

function nodeLayout(root: string, index: number, pluginDir: string | undefined, sharedPool: string | undefined): NodeLayout {
  const name = `node-${index}`;
  const dir = join(root, name);
  return {
    index,
    name,
    dir,
    config: join(dir, 'agent.yml'),
    certsDir: join(dir, 'certs'),
    mountRoot: join(dir, 'mnt'),
    stateDir: join(dir, 'state'),
    pluginSocket: pluginDir === undefined ? join(dir, 'plugin.sock') : join(pluginDir, `flocker-${name}.sock`),
    pool: sharedPool ?? join(dir, 'pool'),
  };
}

/** Replica i's data folder (0 is the one control of a single-replica cluster). */
export function controlReplicaDir(layout: ClusterLayout, i: number): string {
  return i === 0 ? layout.controlDataDir : `${layout.controlDataDir}-${i + 1}`;
}

/**
 * Where each control replica listens. Several replicas on loopback each get their own address
 * (Linux routes all of 127/8 to lo), so they can share one API port and one agent port: the
 * plugin reaches every replica with agent.yml's single `plugin.api-port`. Under --isolate the
 * nodes reach control only through the bridge's one gateway address, so replicas stay there.
 */
export function replicaAddresses(listen: string, replicas: number, isolate: boolean): string[] {
  if (isolate || replicas === 1) return Array.from({ length: replicas }, () => listen);
  return Array.from({ length: replicas }, (_, r) => `127.0.0.${r + 1}`);
}

/** DIR/cluster.json: how tests, scripts and people find the running cluster. */
export interface ClusterInfo {
  readonly api: string;
  readonly certs_path: string;
  readonly user: string;
  readonly nodes: readonly {
    readonly uuid: string; readonly mount_root: string; readonly name: string; readonly config: string;
    /** --isolate: the node's own address, and its network namespace (`ip netns exec NETNS ...`). */
    readonly address?: string; readonly netns?: string;
  }[];
  /** --isolate: the bridge the nodes' namespaces hang on, and control's address on it. */
  readonly isolated?: { readonly bridge: string; readonly gateway: string; readonly subnet: string };
  /** Ours, beyond the contract's fields. */
  readonly agent_port: number;
  /** Every control replica's API (the first is `api`). */
  readonly apis?: readonly string[];
  /** The configuration store: sqlite:PATH or etcd://... */
  readonly store?: string;
  readonly pid: number;
}
