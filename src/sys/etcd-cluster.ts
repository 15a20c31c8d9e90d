// A local etcd cluster (Debian's etcd-server, /usr/bin/etcd) on loopback ports: for `flocker
// cluster up --store etcd` and the tests. Each member is a child process with its own data folder
// under `dir`; stop() kills them all and waits for them to exit.
import { freeTcpPort } from './ports.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ETCD_BINARY = process.env.FLOCKER_ETCD_BINARY ?? '/usr/bin/etcd';

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clientUrl: string;
  readonly process: ChildProcess | undefined;
}

export interface LocalEtcd {
  readonly members: readonly EtcdMember[];
  /** host:port of every member, for an etcd:// store URL. */
  readonly endpoints: readonly string[];
  /** SIGKILL one member (a machine lost). */
  kill(index: number): Promise<void>;
  /** Start a killed member again with its data. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}


function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: unknown };
    return body.health === 'true' || body.health === true;
  } catch {
    return false;
  }
}

export interface LocalEtcdOptions {
  readonly dir: string;
  readonly size?: number;
  /** Wait at most this long for the cluster to have a leader (default 30 s). */
  readonly timeoutMs?: number;
  /**
   * Members get SIGKILL when this process dies, even by SIGKILL (util-linux setpriv --pdeathsig):
   * for tests, whose runner kills a file that overruns.
   */
  readonly dieWithParent?: boolean;
}

interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

/** DIR/members.json: the members' names and ports, so the same cluster (and its data) comes back next time. */
function readMembers(file: string, size: number): { token: string; members: MemberSpec[] } | undefined {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { token?: unknown; members?: MemberSpec[] };
    if (typeof j.token === 'string' && Array.isArray(j.members) && j.members.length === size) return { token: j.token, members: j.members };
  } catch {
    // absent or unreadable: a new cluster
  }
  return undefined;
}

export async function startLocalEtcd(o: LocalEtcdOptions): Promise<LocalEtcd> {
  const size = o.size ?? 3;
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const membersFile = join(o.dir, 'members.json');
  const known = readMembers(membersFile, size);
  const reuse = known !== undefined && known.members.every((m) => existsSync(join(o.dir, m.name, 'member')));
  const token = reuse ? known.token : `flocker-${Math.random().toString(36).slice(2)}`;
  const specs: MemberSpec[] = [];
  if (reuse) specs.push(...known.members);
  else {
    for (let i = 0; i < size; i++) {
      const name = `m${i}`;
      // Half a cluster from an earlier run would not form a new one.
      rmSync(join(o.dir, name), { recursive: true, force: true });
      specs.push({ name, clientPort: await freeTcpPort(), peerPort: await freeTcpPort() });
    }
  }
  writeFileSync(membersFile, `${JSON.stringify({ token, members: specs })}\n`);
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const procs: (ChildProcess | undefined)[] = specs.map(() => undefined);

  const launch = (i: number, state: 'new' | 'existing'): void => {
    const s = specs[i]!;
    const dataDir = join(o.dir, s.name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const log = openSync(join(o.dir, `${s.name}.log`), 'a');
    const client = `http://127.0.0.1:${s.clientPort}`;
    const peer = `http://127.0.0.1:${s.peerPort}`;
    const args = [
      '--name', s.name, '--data-dir', dataDir,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', initialCluster, '--initial-cluster-state', state, '--initial-cluster-token', token,
      // Loopback: elect fast so a lost member costs a fraction of a second, not seconds.
      '--heartbeat-interval', '50', '--election-timeout', '500',
      '--logger', 'zap', '--log-outputs', 'stderr',
    ];
    const p = o.dieWithParent
      ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', ETCD_BINARY, ...args], { stdio: ['ignore', log, log] })
      : spawn(ETCD_BINARY, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    procs[i] = p;
  };

  const members = (): EtcdMember[] => specs.map((s, i) => ({
    ...s, clientUrl: `http://127.0.0.1:${s.clientPort}`, process: procs[i],
  }));

  const stop = async (): Promise<void> => {
    await Promise.all(procs.map(async (p) => {
      if (!p) return;
      p.kill('SIGKILL');
      await exited(p);
    }));
  };

  // With its data folder, a member ignores the initial-cluster flags and rejoins as it was.
  for (let i = 0; i < size; i++) launch(i, reuse ? 'existing' : 'new');
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    const first = procs[0]!;
    first.once('error', (e) => resolve(e));
    first.once('spawn', () => resolve(undefined));
  });
  if (spawnError) {
    await stop();
    throw new Error(`cannot start ${ETCD_BINARY}: ${spawnError.message} (install Debian's etcd-server package)`);
  }
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    const all = await Promise.all(specs.map((s) => healthy(`http://127.0.0.1:${s.clientPort}`)));
    if (all.every(Boolean)) break;
    const dead = procs.findIndex((p) => p && p.exitCode !== null);
    if (dead >= 0 || Date.now() > deadline) {
      await stop();
      const why = dead >= 0 ? `member ${specs[dead]!.name} exited` : 'no healthy cluster in time';
      throw new Error(`local etcd did not start: ${why}; see the logs in ${o.dir}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    get members() { return members(); },
    endpoints: specs.map((s) => `127.0.0.1:${s.clientPort}`),
    async kill(i) {
      const p = procs[i];
      if (!p) return;
      p.kill('SIGKILL');
      await exited(p);
      procs[i] = undefined;
    },
    async restart(i) {
      if (procs[i]) return;
      launch(i, 'existing');
    },
    stop,
  };
}
