// Control replicas over a real 3-member etcd, on fixed ports so a replica killed with -9 can come
// back where its agents look for it, and real agents (directory backend, one shared pool) whose
// agent.yml lists the replicas in the order given. For the fail-over test and its benchmark.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { unexpose } from '../../src/backends/fsutil.js';
import { threadedFs } from '../../src/backends/pool-fs.js';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { followCluster } from '../../src/client/follow.js';
import type { ControlClient } from '../../src/client/types.js';
import { flocker, type Proc } from '../agent/harness.js';
import { makeCerts, type TestCerts } from './certs.js';
import { startTestEtcd, type TestEtcd } from './etcd.js';
import { freePort } from './ports.js';
import { until } from './until.js';

export interface Replica {
  readonly name: string;
  readonly apiPort: number;
  readonly agentPort: number;
  /** A REST client of this replica only (no fall-back: what it answers is this replica's view). */
  readonly client: ControlClient;
  proc?: Proc;
  /** What this replica says about the nodes, as its event stream delivers it (since it last started). */
  feed?: NodeFeed;
}

/**
 * A replica's node rows (GET /v1/events), each change stamped with when it arrived here, so a
 * test can wait for an agent's hello on that replica and a benchmark can time it without polling.
 */
export class NodeFeed {
  private readonly seen: { readonly uuid: string; readonly connected: boolean; readonly lastSeen: number; readonly at: number }[] = [];
  private readonly stop = new AbortController();
  /** A snapshot has come. */
  started = false;

  constructor(client: ControlClient) {
    void (async () => {
      for await (const u of followCluster(client, { signal: this.stop.signal })) {
        if (u.kind !== 'event') continue;
        this.started = true;
        const at = Date.now();
        for (const n of u.snapshot.nodes) {
          const lastSeen = Date.parse(n.last_seen);
          if (!this.seen.some((s) => s.uuid === n.uuid && s.connected === n.connected && s.lastSeen === lastSeen)) {
            this.seen.push({ uuid: n.uuid, connected: n.connected, lastSeen, at });
          }
        }
      }
    })();
  }

  /**
   * When (epoch ms, here) this replica first showed node `uuid` connected with a hello or report
   * at or after `sinceMs`: the agent talks to this replica, or to a live one that shared it.
   */
  heardSince(uuid: string, sinceMs: number): number | undefined {
    return this.seen.find((s) => s.uuid === uuid && s.connected && s.lastSeen >= sinceMs)?.at;
  }

  close(): void {
    this.stop.abort();
  }
}

export interface FailoverAgent {
  readonly uuid: string;
  readonly config: string;
  /** Real path: mount points compare equal to /proc/self/mountinfo's. */
  readonly mountRoot: string;
  proc?: Proc;
}

export interface FailoverBed {
  readonly dir: string;
  readonly certs: TestCerts;
  readonly etcd: TestEtcd;
  readonly replicas: readonly Replica[];
  readonly agents: readonly FailoverAgent[];
  /** Start (or restart after a kill) replica r on its ports; resolves once its feed has a snapshot. */
  startReplica(r: number): Promise<void>;
  startAgent(i: number): Proc;
  /** Logs of every process, for a failure under load to explain itself. */
  logs(): string;
  cleanup(): Promise<void>;
}

/** `order[i]`: the replicas agent i lists, first tried first. */
export async function makeFailoverBed(o: { replicas: number; order: readonly (readonly number[])[] }): Promise<FailoverBed> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-failover-'));
  const certs = await makeCerts(join(dir, 'certs'), { nodes: o.order.length });
  const etcd = await startTestEtcd();
  const storeUrl = etcd.url();
  const pool = join(dir, 'pool');
  mkdirSync(pool);
  const replicas: Replica[] = [];
  for (let r = 0; r < o.replicas; r++) {
    const apiPort = await freePort();
    const client = clientFromCertsDir({ host: '127.0.0.1', port: apiPort, certsPath: certs.dir, user: 'user' });
    replicas.push({ name: String.fromCharCode(65 + r), apiPort, agentPort: await freePort(), client });
  }
  const agents: FailoverAgent[] = o.order.map((order, i) => {
    const n = certs.nodes[i]!;
    const mountRoot = join(dir, `mnt${i}`);
    mkdirSync(mountRoot);
    const config = join(dir, `agent${i}.yml`);
    writeFileSync(config, stringify({
      version: 1,
      'control-service': order.map((r) => ({ hostname: '127.0.0.1', port: replicas[r]!.agentPort })),
      dataset: { backend: 'directory', root_path: pool, mount_root: mountRoot },
      'certificates-dir': n.certificatesDir,
      'state-dir': join(dir, `state${i}`),
    }));
    return { uuid: n.uuid, config, mountRoot: realpathSync(mountRoot) };
  });

  const bed: FailoverBed = {
    dir, certs, etcd, replicas, agents,
    async startReplica(r) {
      const rep = replicas[r]!;
      const dataDir = join(dir, `control-${rep.name}`);
      const info = join(dataDir, 'control.json');
      const p = flocker(['control', '--data-dir', dataDir, '--certificates-dir', certs.dir, '--listen', '127.0.0.1',
        '--api-port', String(rep.apiPort), '--agent-port', String(rep.agentPort), '--store', storeUrl]);
      rep.proc = p;
      await until(`replica ${rep.name} to listen`, () => {
        if (p.child.exitCode !== null) throw new Error(`replica ${rep.name} exited:\n${p.log()}`);
        if (!existsSync(info)) return undefined;
        return (JSON.parse(readFileSync(info, 'utf8')) as { pid: number }).pid === p.child.pid;
      }, 120_000); // tsx start-up on a loaded 2-core machine
      rep.feed?.close();
      rep.feed = new NodeFeed(rep.client);
      const feed = rep.feed;
      await until(`replica ${rep.name}'s event stream`, () => feed.started, 30_000);
    },
    startAgent(i) {
      const p = flocker(['agent', '--config', agents[i]!.config]);
      agents[i]!.proc = p;
      return p;
    },
    logs() {
      return [
        ...replicas.map((r) => `--- replica ${r.name} log:\n${r.proc?.log() ?? '(not started)'}`),
        ...agents.map((a, i) => `--- agent ${i} (${a.uuid}) log:\n${a.proc?.log() ?? '(not started)'}`),
      ].join('\n');
    },
    async cleanup() {
      await Promise.all(agents.map((a) => a.proc?.kill9()));
      await Promise.all(replicas.map((r) => r.proc?.kill9()));
      for (const r of replicas) {
        r.feed?.close();
        r.client.close();
      }
      for (const a of agents) {
        for (const name of readdirSync(a.mountRoot)) await unexpose(threadedFs, join(a.mountRoot, name)).catch(() => undefined);
      }
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return bed;
}
