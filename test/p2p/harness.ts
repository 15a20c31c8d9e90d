// A p2p cluster of real processes where nothing but the network is shared: the control service
// in the default namespace (on the simulated bridge), one agent per simulated host (its own
// network + mount namespace, its own btrfs pool and mount root). With `backend: 'loopback'` the
// hosts share one pool folder instead, as hosts share a network disk; mounts stay per host.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import type { ControlClient } from '../../src/client/types.js';
import type { Host } from '../../src/sys/netns/hosts.js';
import { parseMountinfo } from '../../src/sys/mounts.js';
import { flocker, ROOT, until, type Proc } from '../agent/harness.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { makeHosts, type TestHosts } from '../support/hosts.js';
import { detachLoop, listLoops } from '../../src/sys/losetup.js';
import { freePort } from '../support/ports.js';

export interface P2PNode {
  readonly uuid: string;
  readonly host: Host;
  readonly config: string;
  readonly pool: string;
  readonly mountRoot: string;
  proc?: ChildProcess;
  log: string;
}

export interface P2PBed {
  readonly hosts: TestHosts;
  readonly certs: TestCerts;
  readonly nodes: readonly P2PNode[];
  readonly client: ControlClient;
  /** The REST API, on the bridge's address in the default namespace. */
  readonly apiHost: string;
  readonly apiPort: number;
  control?: Proc;
  /** `extra`: more `flocker control` flags (e.g. --node-timeout). */
  startControl(extra?: string[]): Promise<void>;
  startAgent(i: number, env?: Record<string, string>): ChildProcess;
  kill9Agent(i: number): Promise<void>;
  /** Runs a shell command inside node i's host (its own mounts and network). */
  sh(i: number, script: string, timeoutMs?: number): Promise<string>;
  /** Mount points under node i's mount root, as its agent's mount namespace sees them. */
  mountsOn(i: number): string[];
  until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs?: number): Promise<T>;
  diagnose(): Promise<string>;
  cleanup(): Promise<void>;
}

export interface BedOptions {
  readonly backend?: 'p2p' | 'loopback';
}

export async function makeP2PBed(n = 2, opts: BedOptions = {}): Promise<P2PBed> {
  const backend = opts.backend ?? 'p2p';
  const hosts = makeHosts(n);
  const sharedPool = join(hosts.dir, 'pool');
  if (backend !== 'p2p') mkdirSync(sharedPool);
  try {
    const certs = await makeCerts(join(hosts.dir, 'certs'), { nodes: n });
    const apiPort = await freePort();
    const agentPort = await freePort();
    const gateway = hosts.net.gateway;
    const nodes: P2PNode[] = certs.nodes.map((c, i) => {
      const host = hosts.hosts[i]!;
      const dir = host.dir ?? join(hosts.dir, host.name);
      const config = join(dir, 'agent.yml');
      const pool = backend === 'p2p' ? join(dir, 'pool') : sharedPool;
      const mountRoot = join(dir, 'mnt');
      writeFileSync(config, [
        'version: 1',
        `control-service: {hostname: ${gateway}, port: ${agentPort}}`,
        backend === 'p2p'
          ? `dataset: {backend: p2p, root_path: ${pool}, mount_root: ${mountRoot}, transfer: {port: 4526}}`
          : `dataset: {backend: ${backend}, root_path: ${pool}, mount_root: ${mountRoot}}`,
        `certificates-dir: ${c.certificatesDir}`,
        `state-dir: ${join(dir, 'state')}`,
        '',
      ].join('\n'));
      return { uuid: c.uuid, host, config, pool, mountRoot, log: '' };
    });
    const client = clientFromCertsDir({ host: gateway, port: apiPort, certsPath: certs.dir, user: 'user' });
    const bed: P2PBed = {
      hosts, certs, nodes, client, apiHost: gateway, apiPort,
      async startControl(extra = []) {
        const dataDir = join(hosts.dir, 'control');
        const p = flocker(['control', '--data-dir', dataDir, '--certificates-dir', certs.dir,
          '--api-port', String(apiPort), '--agent-port', String(agentPort), '--listen', gateway, ...extra]);
        bed.control = p;
        await until('control to listen', () => {
          if (p.child.exitCode !== null) throw new Error(`control exited:\n${p.log()}`);
          const info = join(dataDir, 'control.json');
          if (!existsSync(info)) return undefined;
          return (JSON.parse(readFileSync(info, 'utf8')) as { pid: number }).pid === p.child.pid ? true : undefined;
        }, 180_000); // tsx start-up on a loaded machine
      },
      startAgent(i, env = {}) {
        const node = nodes[i]!;
        const child = hosts.net.spawnInHost(node.host, [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts'), 'agent', '--config', node.config], {
          cwd: ROOT, env: { ...process.env, FLOCKER_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        const keep = (c: Buffer): void => {
          node.log += c.toString();
          if (node.log.length > 400_000) node.log = node.log.slice(-200_000);
        };
        child.stdout!.on('data', keep);
        child.stderr!.on('data', keep);
        node.proc = child;
        return child;
      },
      async kill9Agent(i) {
        const child = nodes[i]!.proc;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      },
      sh: (i, script, timeoutMs) => hosts.run(nodes[i]!.host, ['sh', '-c', script], timeoutMs),
      mountsOn(i) {
        const node = nodes[i]!;
        const pid = node.proc?.pid;
        if (pid === undefined || node.proc?.exitCode !== null) return [];
        try {
          return parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
            .map((m) => m.mountPoint).filter((m) => m.startsWith(`${node.mountRoot}/`));
        } catch {
          return [];
        }
      },
      async diagnose() {
        const parts: string[] = [`--- diagnostics at ${new Date().toISOString()}`];
        const rows = async (what: string, f: () => Promise<unknown>): Promise<void> => {
          try {
            parts.push(`${what}: ${JSON.stringify(await f())}`);
          } catch (e) {
            parts.push(`${what}: (failed: ${String(e)})`);
          }
        };
        await rows('state/datasets', () => client.stateDatasets());
        await rows('state/nodes', () => client.stateNodes());
        await rows('convergence', () => client.convergence());
        for (const [i, node] of nodes.entries()) {
          await rows(`pool of node ${i}`, () => bed.sh(i, `find ${backend === 'p2p' ? `${node.pool}/pool` : node.pool} -maxdepth 3 2>&1 | head -40`));
          parts.push(`--- agent ${i} log (tail):\n${node.log.split('\n').slice(-60).join('\n')}`);
        }
        parts.push(`--- control log (tail):\n${(bed.control?.log() ?? '').split('\n').slice(-30).join('\n')}`);
        return parts.join('\n');
      },
      async until(what, f, timeoutMs) {
        try {
          return await until(what, f, timeoutMs);
        } catch (e) {
          throw new Error(`${e instanceof Error ? e.message : String(e)}\n${await bed.diagnose()}`);
        }
      },
      async cleanup() {
        client.close();
        await bed.control?.kill9();
        // Agents get SIGTERM with a grace period; destroy() then unmounts and detaches whatever is left.
        await hosts.destroy();
        // destroy() detaches the loop devices of files in each host's own folder; those of the
        // shared pool are released here, now that no namespace has them mounted.
        if (backend !== 'p2p') {
          for (const l of await listLoops()) {
            if (l.backingFile.startsWith(`${sharedPool}/`)) await detachLoop(l.device).catch(() => undefined);
          }
        }
      },
    };
    return bed;
  } catch (e) {
    await hosts.destroy();
    throw e;
  }
}
