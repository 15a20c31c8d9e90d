// A real local cluster for end-to-end tests: `flocker cluster up` (from source, under tsx) in a
// fresh temp dir on free ports, with real processes, real TLS and a real storage pool.
//
//   const c = await startCluster({ nodes: 2 });
//   try { await c.client.createDataset({ primary: c.nodes[0].uuid }) ... } finally { await c.stop(); }
//
// stop() is safe to call twice, and an exit handler kills whatever a crashed test left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlClient } from '../../src/client/types.js';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { parseMountinfo, type MountEntry } from '../../src/sys/mounts.js';
import { HostNetwork } from '../../src/sys/netns/hosts.js';
import { releaseUnder } from './teardown.js';

export interface TestClusterNode {
  uuid: string;
  mount_root: string;
  /** The node's agent.yml. */
  config: string;
  name: string;
  /** isolate: the node's own address and network namespace. */
  address?: string;
  netns?: string;
}

export interface TestCluster {
  dir: string;
  /** https://127.0.0.1:PORT */
  api: string;
  apiPort: number;
  certsPath: string;
  user: string;
  nodes: TestClusterNode[];
  client: ControlClient;
  /** Everything `cluster up` printed so far (stdout and stderr). */
  output(): string;
  /** The `cluster up` process, and its exit code once it ends (for tests of cluster up itself). */
  pid: number;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  nodes?: number;
  backend?: 'directory' | 'loopback' | 'p2p';
  /** Every node its own host (`--isolate`, root). */
  isolate?: boolean;
  plugins?: boolean;
  /** With plugins: where their sockets go (`--plugin-dir`). */
  pluginDir?: string;
  /**
   * Only bounds a hang, so longer than cluster up's own start deadline (180 s after the
   * certificates, which take half a minute under load): cluster up's own message says what it
   * waited for. Default 300 s.
   */
  timeoutMs?: number;
  /** More `cluster up` flags (e.g. --store etcd). */
  extraArgs?: string[];
}

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const live = new Set<{ proc: ChildProcess; dir: string }>();

/** Last resort when the test process exits without stop(): kill the tree, free mounts, keep going. */
function killLeftovers(entry: { proc: ChildProcess; dir: string }): void {
  if (entry.proc.exitCode === null && entry.proc.signalCode === null) entry.proc.kill('SIGKILL');
  const pids = join(entry.dir, 'pids');
  if (existsSync(pids)) {
    for (const line of readFileSync(pids, 'utf8').split('\n')) {
      const pid = Number(line.split(' ')[0]);
      if (Number.isInteger(pid) && pid > 0) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
  }
  // --isolate: the namespaces, bridge, and what is mounted inside the hosts (recorded by cluster up).
  HostNetwork.destroyLeftovers(join(entry.dir, 'hosts.json'));
  releaseUnder(entry.dir);
}

process.on('exit', () => {
  for (const e of live) killLeftovers(e);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startCluster(opts: StartClusterOptions = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-cluster-'));
  const args = [
    '--import', 'tsx', join(ROOT, 'src', 'main.ts'), 'cluster', 'up', '--no-dashboard', '--dir', dir,
    '--api-port', '0', '--agent-port', '0', '--exit-with-parent', '--nodes', String(opts.nodes ?? 2), '--backend', opts.backend ?? 'directory',
    ...(opts.plugins ? ['--plugins'] : []),
    ...(opts.isolate ? ['--isolate'] : []),
    ...(opts.pluginDir !== undefined ? ['--plugin-dir', opts.pluginDir] : []),
    ...(opts.extraArgs ?? []),
  ];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  const entry = { proc, dir };
  live.add(entry);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => killLeftovers(entry), 30_000);
      await exited;
      clearTimeout(killer);
    }
    killLeftovers(entry); // no-op after a clean stop; frees everything after a crash
    live.delete(entry);
    rmSync(dir, { recursive: true, force: true });
  };

  const clusterJson = join(dir, 'cluster.json');
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  try {
    for (;;) {
      if (existsSync(clusterJson)) break;
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`cluster up exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${out}`);
      if (Date.now() > deadline) throw new Error(`cluster up was not ready after ${opts.timeoutMs ?? 300_000} ms:\n${out}`);
      await sleep(100);
    }
    const info = JSON.parse(readFileSync(clusterJson, 'utf8')) as {
      api: string; certs_path: string; user: string; nodes: TestClusterNode[];
    };
    const apiPort = Number(new URL(info.api).port);
    const client = clientFromCertsDir({ host: new URL(info.api).hostname, port: apiPort, certsPath: info.certs_path, user: info.user });
    return {
      dir, api: info.api, apiPort, certsPath: info.certs_path, user: info.user,
      nodes: info.nodes.map((n) => ({
        uuid: n.uuid, mount_root: n.mount_root, config: n.config, name: n.name,
        ...(n.address !== undefined ? { address: n.address } : {}), ...(n.netns !== undefined ? { netns: n.netns } : {}),
      })),
      client,
      output: () => out,
      pid: proc.pid ?? -1,
      exited,
      stop: async () => {
        client.close();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The children `cluster up` is running, from DIR/pids ("PID NAME" per line). */
export function childPids(c: TestCluster): { pid: number; name: string }[] {
  return readFileSync(join(c.dir, 'pids'), 'utf8').trim().split('\n').map((l) => {
    const [pid, ...name] = l.split(' ');
    return { pid: Number(pid), name: name.join(' ') };
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mount points below `dir`, from this process's mount table. */
export function mountsUnder(dir: string): string[] {
  return currentMounts().map((m) => m.mountPoint).filter((p) => p.startsWith(`${dir}/`));
}

export function currentMounts(): MountEntry[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}
