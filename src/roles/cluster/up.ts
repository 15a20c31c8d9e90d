// A whole local cluster in one process tree: certificates, control, N agents (and plugins),
// then DIR/cluster.json once every node has reported. Stops in the reverse order and leaves
// nothing mounted or attached.
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterBackend } from './backends.js';
import { ownPools } from './backends.js';
import type { ControlClient } from '../../client/types.js';
import { clientFromCertsDir } from '../../client/from-certs-dir.js';
import { errorMessage, UserError } from '../../errors.js';
import { agentYml, replicaOrder } from './agent-yml.js';
import { ensureClusterCerts, API_USER, type ClusterCerts } from './certs.js';
import { lockClusterDir, type ClusterLock } from './lock.js';
import { spawnSelf, stopChild, type Child } from './children.js';
import { releaseHostResources, type CleanupReport } from './cleanup.js';
import { clusterLayout, controlReplicaDir, replicaAddresses, type ClusterInfo, type ClusterLayout } from './layout.js';
import { startLocalEtcd, type LocalEtcd } from '../../sys/etcd-cluster.js';
import { tailOf } from './tail.js';
import { abortableSleep } from '../../abortable-sleep.js';
import { shortId } from '../../model/ids.js';
import { DEFAULT_TRANSFER_PORT } from '../../model/cluster-state.js';
import { HostNetwork, type TeardownReport } from '../../sys/netns/hosts.js';
import { freeTcpPort } from '../../sys/ports.js';

export interface UpOptions {
  readonly dir: string;
  readonly nodes: number;
  readonly backend: ClusterBackend;
  /** Root: every node (agent and plugin) its own simulated host: network + mount namespace, address. */
  readonly isolate?: boolean;
  readonly apiPort: number;
  readonly agentPort: number;
  readonly plugins: boolean;
  /** Where control keeps the configuration: its SQLite file, or a local 3-member etcd. */
  readonly store?: 'sqlite' | 'etcd';
  /** Control services (with etcd, several replicas each answering every request). */
  readonly controlReplicas?: number;
  /** Where the plugin sockets go (default: each node's folder). */
  readonly pluginDir?: string;
  /** How long control and the nodes may take to come up once the certificates exist (default 180 s). */
  readonly startTimeoutMs?: number;
  /** Aborting (Ctrl-C while starting) stops what was started and rejects with UserError. */
  readonly signal?: AbortSignal;
}

export type Progress = (line: string) => void;

/** Where one control replica listens once it does. */
interface ReplicaAddress { readonly host: string; readonly api_port: number; readonly agent_port: number }

export interface ChildDeath {
  readonly child: Child;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}


export class LocalCluster {
  private stopping = false;
  private readonly children: Child[] = [];
  /** Resolves when a child ends without being asked to. */
  readonly unexpectedExit: Promise<ChildDeath>;
  private reportDeath!: (d: ChildDeath) => void;
  info: ClusterInfo | undefined;
  client: ControlClient | undefined;
  etcd: LocalEtcd | undefined;
  /** --isolate: the simulated hosts the nodes run in. */
  hosts: HostNetwork | undefined;

  constructor(readonly layout: ClusterLayout, private readonly lock: ClusterLock, private readonly progress: Progress = () => undefined) {
    this.unexpectedExit = new Promise((r) => { this.reportDeath = r; });
  }

  /** Local etcd members are ours to stop too; listed in the pids file like every child. */
  adoptEtcd(etcd: LocalEtcd): void {
    this.etcd = etcd;
    for (const m of etcd.members) appendFileSync(this.layout.pidsFile, `${m.process?.pid ?? '?'} etcd ${m.name}\n`);
    for (const m of etcd.members) {
      m.process?.once('exit', (code, signal) => {
        if (this.stopping) return;
        const logFile = join(this.layout.etcdDir, `${m.name}.log`);
        this.reportDeath({ child: { name: `etcd ${m.name}`, proc: m.process!, logFile, exited: Promise.resolve({ code, signal }) }, code, signal });
      });
    }
  }

  adopt(child: Child): Child {
    this.children.push(child);
    // So a test harness (or a person) can find the processes even if we are killed with -9.
    appendFileSync(this.layout.pidsFile, `${child.proc.pid ?? '?'} ${child.name}\n`);
    void child.exited.then(({ code, signal }) => {
      if (this.stopping) return;
      const death = { child, code, signal };
      // Surviving the loss of a replica is what several replicas are for: agents and plugins fail
      // over to the others. Only once the cluster is up; while starting, every child must start.
      const others = this.liveReplicas();
      if (this.info && isReplica(child) && others.length > 0) {
        this.progress(`${describeDeath(death)}; still serving: ${others.map((c) => c.name).join(', ')}`);
        return;
      }
      this.reportDeath(death);
    });
    return child;
  }

  private liveReplicas(): Child[] {
    return this.children.filter((c) => isReplica(c) && c.proc.exitCode === null && c.proc.signalCode === null);
  }

  /** Plugins and agents first (they depend on control), then the host resources, then control. */
  async stop(): Promise<CleanupReport> {
    this.stopping = true;
    this.client?.close();
    rmSync(this.layout.clusterJson, { force: true });
    const byKind = (prefix: string): Child[] => this.children.filter((c) => c.name.startsWith(prefix));
    await Promise.all(byKind('plugin').map((c) => stopChild(c)));
    await Promise.all(byKind('agent').map((c) => stopChild(c)));
    // Inside the hosts first: what is mounted there (and the loop devices under it) is out of
    // sight of the safety net below, which looks at our own mount table.
    const inHosts: TeardownReport = this.hosts ? await this.hosts.destroy() : { unmounted: [], detached: [], problems: [] };
    // Nodes with pools of their own (p2p) may have mounted them (a btrfs file) in our namespace.
    const ownPools = this.layout.nodes.map((n) => n.pool).filter((p) => p !== this.layout.pool);
    const here = await releaseHostResources([...this.layout.nodes.map((n) => n.mountRoot), ...ownPools], this.layout.dir);
    const report: CleanupReport = {
      unmounted: [...inHosts.unmounted, ...here.unmounted],
      detached: [...inHosts.detached, ...here.detached],
      problems: [...inHosts.problems, ...here.problems],
    };
    await Promise.all(byKind('control').map((c) => stopChild(c)));
    await this.etcd?.stop();
    rmSync(this.layout.pidsFile, { force: true });
    this.lock.release();
    return report;
  }
}

/** One of several control replicas (a single control is named just `control`). */
function isReplica(c: Child): boolean {
  return c.name.startsWith('control ');
}

/** One line: which child, how it ended, the last thing it logged. */
export function describeDeath(d: ChildDeath): string {
  const how = d.signal ? `was killed by ${d.signal}` : `exited with code ${d.code}`;
  const last = tailOf(d.child.logFile);
  return `${d.child.name} ${how}${last ? `: ${last}` : ''} (log: ${d.child.logFile})`;
}

export class Interrupted extends UserError {
  override readonly name = 'Interrupted';
  constructor() {
    super('interrupted while starting');
  }
}

const START_TIMEOUT_MS = 180_000;

interface Deadline { readonly at: number; readonly ms: number }

/** Race `p` against a child dying, a deadline and an abort. */
async function guarded<T>(
  cluster: LocalCluster, what: string, deadline: Deadline, signal: AbortSignal | undefined, work: (stop: AbortSignal) => Promise<T>,
): Promise<T> {
  const done = new AbortController();
  const p = work(done.signal);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UserError(
      `timed out waiting for ${what} (${deadline.ms / 1000} s since the certificates were ready; the logs in ${cluster.layout.logsDir} say why)`,
    )), Math.max(0, deadline.at - Date.now()));
  });
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Interrupted());
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const death = cluster.unexpectedExit.then((d) => { throw new UserError(describeDeath(d)); });
  try {
    return await Promise.race([p, timeout, death, aborted]);
  } finally {
    done.abort(); // the losing waiter stops polling
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

async function waitForControlJson(path: string, pid: number | undefined, stop: AbortSignal): Promise<{ api_port: number; agent_port: number }> {
  while (!stop.aborted) {
    try {
      const j = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number; api_port?: number; agent_port?: number };
      if (typeof j.api_port === 'number' && typeof j.agent_port === 'number' && (pid === undefined || j.pid === pid)) {
        return { api_port: j.api_port, agent_port: j.agent_port };
      }
    } catch {
      // not there yet, or being written; read again
    }
    await abortableSleep(100, stop);
  }
  throw new Error('abandoned');
}

async function waitForNodes(
  client: ControlClient, uuids: readonly string[], names: readonly string[], progress: Progress, stop: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  while (!stop.aborted) {
    try {
      for (const n of await client.stateNodes()) {
        const i = uuids.indexOf(n.uuid);
        if (i >= 0 && !seen.has(n.uuid)) {
          seen.add(n.uuid);
          progress(`${names[i]} (${shortId(n.uuid)}) reported to control (${seen.size}/${uuids.length})`);
        }
      }
    } catch {
      // control may still be settling; the deadline and child watch bound this loop
    }
    if (seen.size === uuids.length) return;
    await abortableSleep(200, stop);
  }
}

async function waitForSockets(paths: readonly string[], stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    if (paths.every((p) => { try { return statSync(p).isSocket(); } catch { return false; } })) return;
    await abortableSleep(100, stop);
  }
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

export async function startLocalCluster(opts: UpOptions, progress: Progress): Promise<LocalCluster> {
  const layout = clusterLayout(opts.dir, opts.nodes, opts.pluginDir, opts.isolate === true || ownPools(opts.backend));
  mkdirSync(layout.dir, { recursive: true });
  const lock = lockClusterDir(layout.lockFile, layout.dir);
  let certs: ClusterCerts;
  try {
    for (const d of [layout.logsDir, layout.controlDataDir]) mkdirSync(d, { recursive: true });
    for (const n of layout.nodes) for (const d of [n.dir, n.mountRoot, n.stateDir, n.pool]) mkdirSync(d, { recursive: true });
    rmSync(layout.clusterJson, { force: true });
    const certsStarted = Date.now();
    certs = await ensureClusterCerts(layout);
    progress(certs.made.length === 0
      ? `certificates: reused ${layout.certsDir}`
      : `certificates: made ${certs.made.join(', ')} in ${layout.certsDir} (${Date.now() - certsStarted} ms)`);
  } catch (e) {
    lock.release();
    throw e;
  }

  // The deadline only bounds a hang (a child that dies ends the wait at once), so it is generous and
  // starts after the certificates, which are CPU work that cannot hang: on a busy 2-core machine
  // the certificates alone took 28 s, and the 32 s left of the 60 s it was did not cover control,
  // two agents and two plugins starting side by side, failing a healthy start.
  const ms = opts.startTimeoutMs ?? START_TIMEOUT_MS;
  const deadline: Deadline = { at: Date.now() + ms, ms };
  const cluster = new LocalCluster(layout, lock, progress);
  rmSync(layout.pidsFile, { force: true });
  try {
    // A run killed with -9 left its hosts; we hold the folder's lock, so they are nobody's now.
    const leftovers = HostNetwork.destroyLeftovers(layout.hostsFile);
    for (const p of leftovers.problems) progress(`removing the hosts of an earlier run: ${p}`);
    let listen = '127.0.0.1';
    if (opts.isolate) {
      // Docker runs in the default namespace: for it to bind-mount a volume, what an agent mounts
      // must show there too (with --plugins only; nothing else a host mounts ever does).
      const hosts = HostNetwork.create(layout.nodes.map((n) => ({ name: n.name, dir: n.dir, ...(opts.plugins ? { shareOut: n.mountRoot } : {}) })),
        { stateFile: layout.hostsFile });
      cluster.hosts = hosts;
      listen = hosts.gateway;
      progress(`hosts: bridge ${hosts.bridge} on ${hosts.subnet}; ${hosts.hosts.map((h) => `${h.name} ${h.address}`).join(', ')}; control on ${hosts.gateway}`);
    }
    const replicas = opts.controlReplicas ?? 1;
    const storeArgs: string[] = [];
    let storeUrl = `sqlite:${join(layout.controlDataDir, 'control.sqlite')}`;
    if (opts.store === 'etcd') {
      progress(`etcd: starting 3 members (data and logs in ${layout.etcdDir})`);
      const starting = startLocalEtcd({ dir: layout.etcdDir, timeoutMs: Math.max(1000, deadline.at - Date.now()) });
      let etcd: LocalEtcd;
      try {
        etcd = await guarded(cluster, 'etcd to start', deadline, opts.signal, () => starting);
      } catch (e) {
        // Interrupted or timed out: whatever did start must not outlive us.
        void starting.then((late) => late.stop(), () => undefined);
        throw e;
      }
      cluster.adoptEtcd(etcd);
      storeUrl = `etcd://${etcd.endpoints.join(',')}`;
      storeArgs.push('--store', storeUrl);
      progress(`etcd: ${etcd.endpoints.join(', ')}`);
    }
    const addresses = replicaAddresses(listen, replicas, opts.isolate === true);
    if (opts.isolate && opts.plugins && replicas > 1) {
      progress(`control: ${replicas} replicas share the gateway ${listen} on different ports; agents fail over to all of them, the Docker plugins only to replica 1's API (agent.yml has one api-port)`);
    }
    const startReplica = (r: number, apiPort: number, agentPort: number): { json: string; child: Child } => {
      const dataDir = controlReplicaDir(layout, r);
      mkdirSync(dataDir, { recursive: true });
      const json = join(dataDir, 'control.json');
      rmSync(json, { force: true });
      const name = replicas === 1 ? 'control' : `control ${r + 1}`;
      const child = cluster.adopt(spawnSelf(name, [
        'control', '--data-dir', dataDir, '--certificates-dir', layout.certsDir, '--listen', addresses[r]!,
        '--api-port', String(apiPort), '--agent-port', String(agentPort), ...storeArgs,
      ], join(layout.logsDir, replicas === 1 ? 'control.log' : `control-${r + 1}.log`)));
      progress(`${name}: starting on ${addresses[r]!} (pid ${child.proc.pid}, log ${child.logFile})`);
      return { json, child };
    };
    const listening = async (r: number, c: { json: string; child: Child }): Promise<ReplicaAddress> => {
      const p = await guarded(cluster, 'control to listen', deadline, opts.signal, (stop) => waitForControlJson(c.json, c.child.proc.pid, stop));
      const host = addresses[r]!;
      progress(`${c.child.name}: REST API on https://${host}:${p.api_port}, agents on ${host}:${p.agent_port}${r === 0 ? ` (store ${storeUrl})` : ''}`);
      return { host, ...p };
    };
    // The first replica takes the requested ports (0: free ones). The others share its ports on
    // their own addresses, or (one shared address) pick free ones.
    const allPorts: ReplicaAddress[] = [await listening(0, startReplica(0, opts.apiPort, opts.agentPort))];
    const ports = allPorts[0]!;
    const shared = new Set(addresses).size === replicas;
    const others = addresses.slice(1).map((_, i) => startReplica(i + 1, shared ? ports.api_port : 0, shared ? ports.agent_port : 0));
    for (const [i, c] of others.entries()) allPorts.push(await listening(i + 1, c));

    for (const [i, node] of layout.nodes.entries()) {
      const host = cluster.hosts?.host(node.name);
      // Each host has an address of its own, so every node can use the default transfer port.
      const transfer = opts.backend !== 'p2p' ? undefined
        : host ? { port: DEFAULT_TRANSFER_PORT, listen: host.address } : { port: await freeTcpPort(), listen: '127.0.0.1' };
      // Agents start spread over the replicas (so a change made through one reaches agents of the
      // others) and list all of them, to fail over when theirs dies.
      const order = replicaOrder(allPorts, i);
      writeFileSync(node.config, agentYml({
        name: node.name, controlServices: order.map((p) => ({ hostname: p.host, port: p.agent_port })), apiPort: order[0]!.api_port,
        backend: opts.backend,
        pool: node.pool, mountRoot: node.mountRoot, certificatesDir: node.certsDir, stateDir: node.stateDir,
        pluginSocket: node.pluginSocket, ...(transfer ? { transfer } : {}),
      }));
      const wrapper = host && cluster.hosts ? cluster.hosts.hostCommand(host) : [];
      const agent = cluster.adopt(spawnSelf(`agent ${node.name}`, ['agent', '--config', node.config, '--unmount-on-exit'],
        join(layout.logsDir, `${node.name}-agent.log`), process.env, wrapper));
      progress(`${node.name} (${shortId(certs.nodeUuids[i] ?? '')}): agent starting (pid ${agent.proc.pid}, ${opts.backend} backend${host ? `, host ${host.address}` : ''})`);
      if (opts.plugins) {
        rmSync(node.pluginSocket, { force: true }); // a stale socket must not pass for a listening plugin
        const plugin = cluster.adopt(spawnSelf(`plugin ${node.name}`, ['plugin', '--config', node.config, '--socket', node.pluginSocket],
          join(layout.logsDir, `${node.name}-plugin.log`), process.env, wrapper));
        progress(`${node.name}: Docker plugin starting on ${node.pluginSocket} (pid ${plugin.proc.pid})`);
      }
    }

    const client = clientFromCertsDir({ host: listen, port: ports.api_port, certsPath: layout.certsDir, user: API_USER });
    cluster.client = client;
    await guarded(cluster, 'every node to report to control', deadline, opts.signal,
      (stop) => waitForNodes(client, certs.nodeUuids, layout.nodes.map((n) => n.name), progress, stop));

    if (opts.plugins) {
      await guarded(cluster, 'the Docker plugins to listen', deadline, opts.signal,
        (stop) => waitForSockets(layout.nodes.map((n) => n.pluginSocket), stop));
      progress(`Docker plugins listening (${layout.nodes.length})`);
    }

    const hosts = cluster.hosts;
    const info: ClusterInfo = {
      api: `https://${listen}:${ports.api_port}`,
      certs_path: layout.certsDir,
      user: API_USER,
      nodes: layout.nodes.map((n, i) => {
        const h = hosts?.host(n.name);
        return {
          uuid: certs.nodeUuids[i] ?? '', mount_root: n.mountRoot, name: n.name, config: n.config,
          ...(h ? { address: h.address, netns: h.netns } : {}),
        };
      }),
      ...(hosts ? { isolated: { bridge: hosts.bridge, gateway: hosts.gateway, subnet: hosts.subnet } } : {}),
      agent_port: ports.agent_port,
      pid: process.pid,
      apis: allPorts.map((p) => `https://${p.host}:${p.api_port}`),
      store: storeUrl,
    };
    writeAtomic(layout.clusterJson, `${JSON.stringify(info, null, 2)}\n`);
    cluster.info = info;
    progress(`cluster ready: ${layout.clusterJson}`);
    return cluster;
  } catch (e) {
    await cluster.stop().catch(() => undefined);
    throw e instanceof UserError ? e : new UserError(`cluster up failed: ${errorMessage(e)}`);
  }
}
