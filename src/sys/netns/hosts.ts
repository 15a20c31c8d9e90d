// Separate hosts on one machine: each host is a network namespace (its own address on a bridge
// this module creates) plus a persistent mount namespace of its own, so processes started in it
// share nothing with the others but the network. The default namespace gets an address on the
// bridge too (the "gateway"), so a service listening there is reachable from every host.
//
// Both namespaces are kept by bind mounts (the net one by `ip netns`, the mount one under
// /run/flocker-hosts/<bridge>/), so a host outlives its processes like a real machine: an agent
// restarted in it finds the mounts it left. Everything made is recorded in a state file as it is
// made, so a teardown (here, from an exit handler, or from a later process) removes all of it.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../errors.js';
import { parseMountinfo } from '../mounts.js';
import { cmd, HostsError, requireHostTools, sleepSync } from './commands.js';
import { ipToNumber, numberToIp, pickSubnet, usedNetworks } from './subnet.js';

export { HostsError } from './commands.js';

const RUN_ROOT = '/run/flocker-hosts';

export interface Host {
  readonly name: string;
  /** 1-based. */
  readonly index: number;
  /** `ip netns` name. */
  readonly netns: string;
  /** The host's own IPv4 address on the bridge. */
  readonly address: string;
  /** Bind mount that keeps the host's mount namespace. */
  readonly mountNs: string;
  /** The bridge end of the host's veth pair (down = the host is cut off). */
  readonly vethHost: string;
  /** The host's own folder: at teardown every mount and loop device below it is removed. */
  readonly dir?: string;
  /** Mounts the host makes below this folder also appear in the default namespace (only there). */
  readonly shareOut?: string;
}

export interface HostSpec {
  readonly name: string;
  readonly dir?: string;
  /**
   * A folder whose mounts made inside the host propagate out to the default namespace (never to
   * other hosts, never back in): for a service that runs there, such as dockerd bind-mounting a
   * volume the host's agent mounted. Nothing else the host mounts is seen outside it.
   */
  readonly shareOut?: string;
}

interface State {
  bridge: string;
  runDir: string;
  subnet?: string;
  gateway?: string;
  bridgeMade: boolean;
  /** runDir is bound on itself, private, so the namespace bind mounts in it never propagate. */
  runDirMounted: boolean;
  hosts: Host[];
}

export interface TeardownReport {
  readonly unmounted: readonly string[];
  readonly detached: readonly string[];
  readonly problems: readonly string[];
}

export interface CreateHostsOptions {
  /** Also record what is made here (e.g. a cluster folder), for a cleanup after a kill -9. */
  readonly stateFile?: string;
  readonly random?: () => number;
}

const under = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);

function nsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

function isMountPoint(path: string): boolean {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === path);
}

export class HostNetwork {
  private readonly children = new Set<ChildProcess>();
  private tornDown = false;

  private constructor(private readonly state: State, private readonly stateFile: string | undefined) {}

  get bridge(): string { return this.state.bridge; }
  /** The default namespace's address on the bridge: bind services for every host here. */
  get gateway(): string { return this.state.gateway ?? ''; }
  get subnet(): string { return this.state.subnet ?? ''; }
  get hosts(): readonly Host[] { return this.state.hosts; }

  host(name: string): Host {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) throw new HostsError(`no simulated host named ${JSON.stringify(name)}`);
    return h;
  }

  /** Makes the bridge and every host; on any failure removes what it made and throws. */
  static create(specs: readonly HostSpec[], opts: CreateHostsOptions = {}): HostNetwork {
    requireHostTools();
    if (specs.length === 0 || specs.length > 250) throw new HostsError(`between 1 and 250 hosts, got ${specs.length}`);
    const names = new Set(specs.map((s) => s.name));
    if (names.size !== specs.length || specs.some((s) => !/^[a-z0-9][a-z0-9-]{0,30}$/.test(s.name))) {
      throw new HostsError('host names must be distinct, lower-case letters, digits and dashes');
    }
    const random = opts.random ?? Math.random;
    sweepDeadNetworks();
    let bridge = '';
    for (let i = 0; i < 20 && bridge === ''; i++) {
      const candidate = `flk${randomBytes(2).toString('hex')}`;
      if (!cmd('ip', ['link', 'show', candidate], false).ok && !existsSync(join(RUN_ROOT, candidate))) bridge = candidate;
    }
    if (bridge === '') throw new HostsError('could not find a free bridge name');
    const net = new HostNetwork({ bridge, runDir: join(RUN_ROOT, bridge), bridgeMade: false, runDirMounted: false, hosts: [] }, opts.stateFile);
    try {
      mkdirSync(net.state.runDir, { recursive: true });
      net.state.runDirMounted = true; // recorded first: a failure half-way still unmounts it
      net.save();
      cmd('mount', ['--bind', net.state.runDir, net.state.runDir]);
      cmd('mount', ['--make-private', net.state.runDir]);
      net.makeBridge(random);
      for (const [i, spec] of specs.entries()) net.makeHost(spec, i + 1);
      return net;
    } catch (e) {
      net.teardownSync();
      throw e instanceof HostsError ? e : new HostsError(`making simulated hosts failed: ${errorMessage(e)}`);
    }
  }

  /** Tears down what a (possibly killed) process recorded in `stateFile`; nothing if it is absent. */
  static destroyLeftovers(stateFile: string): TeardownReport {
    let state: State;
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
    } catch {
      return { unmounted: [], detached: [], problems: [] };
    }
    return new HostNetwork(state, stateFile).destroySync();
  }

  private save(): void {
    const text = `${JSON.stringify(this.state, null, 2)}\n`;
    writeFileSync(join(this.state.runDir, 'state.json'), text);
    if (this.stateFile) writeFileSync(this.stateFile, text);
  }

  private makeBridge(random: () => number): void {
    const used = usedNetworks(cmd('ip', ['-o', '-4', 'addr', 'show']).stdout, cmd('ip', ['-4', 'route', 'show', 'table', 'all']).stdout);
    const subnet = pickSubnet(used, random);
    if (!subnet) throw new HostsError('no free 10.x.y.0/24 network for the simulated hosts');
    this.state.subnet = `${numberToIp(subnet.base)}/24`;
    this.state.gateway = numberToIp(subnet.base + 1);
    this.state.bridgeMade = true; // recorded first: a failure half-way still removes it
    this.save();
    const br = this.state.bridge;
    cmd('ip', ['link', 'add', br, 'type', 'bridge']);
    cmd('ip', ['addr', 'add', `${this.state.gateway}/24`, 'dev', br]);
    cmd('ip', ['link', 'set', br, 'up']);
  }

  private makeHost(spec: HostSpec, index: number): void {
    const br = this.state.bridge;
    const host: Host = {
      name: spec.name, index,
      netns: `${br}-${spec.name}`,
      address: numberToIp((ipToNumber(this.gateway) ?? 0) + index),
      mountNs: join(this.state.runDir, `${spec.name}.mnt`),
      vethHost: `${br}h${index}`,
      ...(spec.dir !== undefined ? { dir: spec.dir } : {}),
      ...(spec.shareOut !== undefined ? { shareOut: spec.shareOut } : {}),
    };
    this.state.hosts.push(host);
    this.save();
    const peer = `${br}p${index}`;
    cmd('ip', ['netns', 'add', host.netns]);
    cmd('ip', ['link', 'add', host.vethHost, 'type', 'veth', 'peer', 'name', peer, 'netns', host.netns]);
    cmd('ip', ['link', 'set', host.vethHost, 'master', br]);
    cmd('ip', ['link', 'set', host.vethHost, 'up']);
    const inNs = (...args: string[]): void => { cmd('ip', ['-n', host.netns, ...args]); };
    inNs('link', 'set', peer, 'name', 'eth0');
    inNs('addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    inNs('link', 'set', 'eth0', 'up');
    inNs('link', 'set', 'lo', 'up');
    inNs('route', 'add', 'default', 'via', this.gateway);
    writeFileSync(host.mountNs, '');
    if (host.shareOut === undefined) {
      cmd('unshare', [`--mount=${host.mountNs}`, '--propagation', 'private', '--', 'true']);
    } else {
      this.makeSharedOutNs(host, host.shareOut);
    }
    this.dropPinningCopies(host);
    // Its /sys is its network's, as `ip netns exec` gives; mounted once everything is private.
    cmd('nsenter', [`--net=/run/netns/${host.netns}`, `--mount=${host.mountNs}`, '--', 'mount', '-t', 'sysfs', 'sysfs', '/sys']);
  }

  /**
   * A new mount namespace starts as a copy of every mount here, and a private copy keeps its
   * filesystem alive after the original is unmounted: a loop device someone else (another test,
   * another cluster) mounted could then never be detached while this host lives. So the copies no
   * host needs go at once: loop-backed filesystems, namespace files, other hosts' folders.
   */
  private dropPinningCopies(host: Host): void {
    const inside = parseMountinfo(cmd('nsenter', [`--mount=${host.mountNs}`, '--', 'cat', '/proc/self/mountinfo']).stdout);
    // Never what holds the host's own folder, our working folder or our program.
    const needed = [host.dir, host.shareOut, process.cwd(), process.execPath].filter((p): p is string => p !== undefined);
    const drop = inside
      .filter((m) => /^\/dev\/loop\d+$/.test(m.source) || m.fsType === 'nsfs' || under(m.mountPoint, RUN_ROOT))
      .filter((m) => !needed.some((p) => under(p, m.mountPoint) || under(m.mountPoint, p)))
      .map((m) => m.mountPoint)
      .sort((a, b) => b.length - a.length);
    if (drop.length === 0) return;
    cmd('nsenter', [`--mount=${host.mountNs}`, '--', 'sh', '-c', 'for m; do umount -l "$m" 2>/dev/null; done; true', 'sh', ...new Set(drop)]);
  }

  /**
   * A mount namespace where every mount is private except `shared`, whose copy is the master of
   * the default namespace's (a slave: it receives the host's mounts and sends nothing back).
   * Peer groups are only made by copying, hence: shared in the default namespace first, copied
   * into the new namespace with propagation unchanged, then everything else made private there.
   */
  private makeSharedOutNs(host: Host, shared: string): void {
    mkdirSync(shared, { recursive: true });
    cmd('mount', ['--bind', shared, shared]);
    cmd('mount', ['--make-private', shared]);
    cmd('mount', ['--make-shared', shared]);
    cmd('unshare', [`--mount=${host.mountNs}`, '--propagation', 'unchanged', '--', 'true']);
    const others = parseMountinfo(cmd('nsenter', [`--mount=${host.mountNs}`, '--', 'cat', '/proc/self/mountinfo']).stdout)
      .map((m) => m.mountPoint).filter((p) => p !== shared);
    // Arguments, not a script: mount points may hold any character.
    cmd('nsenter', [`--mount=${host.mountNs}`, '--', 'sh', '-c', 'for m; do mount --make-private "$m" 2>/dev/null; done; true', 'sh', ...new Set(others)]);
    cmd('mount', ['--make-slave', shared]);
  }

  /**
   * argv prefix that runs a program inside `host` (its network and mount namespaces), in `cwd`
   * (entering a mount namespace resets the working folder, so it is given again).
   */
  hostCommand(host: Host, cwd: string = process.cwd()): string[] {
    return ['nsenter', `--net=/run/netns/${host.netns}`, `--mount=${host.mountNs}`, `--wd=${cwd}`, '--'];
  }

  /** Starts `argv` inside `host`; the process (nsenter execs it, so the pid is the program's) is stopped by destroy(). */
  spawnInHost(host: Host, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.tornDown) throw new HostsError('the simulated hosts were destroyed');
    if (argv.length === 0) throw new HostsError('spawnInHost needs a command');
    const cwd = typeof opts.cwd === 'string' ? opts.cwd : process.cwd();
    const [command, ...args] = [...this.hostCommand(host, cwd), ...argv] as [string, ...string[]];
    const child = spawn(command, args, opts);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** Cuts the host off the bridge; its connections stall (they are not reset) until linkUp. */
  linkDown(host: Host): void {
    cmd('ip', ['link', 'set', host.vethHost, 'down']);
  }

  linkUp(host: Host): void {
    cmd('ip', ['link', 'set', host.vethHost, 'up']);
  }

  /** Every process inside any of our hosts (started by us or not), except ourselves. */
  pidsInHosts(): number[] {
    const wanted = new Set<string>();
    for (const h of this.state.hosts) {
      const net = nsInode(`/run/netns/${h.netns}`);
      const mnt = isMountPoint(h.mountNs) ? nsInode(h.mountNs) : undefined;
      if (net !== undefined) wanted.add(`net:[${net}]`);
      if (mnt !== undefined) wanted.add(`mnt:[${mnt}]`);
    }
    const out: number[] = [];
    if (wanted.size === 0) return out;
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      for (const kind of ['net', 'mnt']) {
        try {
          if (wanted.has(readlinkSync(`/proc/${pid}/ns/${kind}`))) {
            out.push(pid);
            break;
          }
        } catch {
          // gone, or a kernel thread
        }
      }
    }
    return out;
  }

  /** Stops every process in the hosts (SIGTERM, then SIGKILL after graceMs), then removes everything. */
  async destroy(graceMs = 10_000): Promise<TeardownReport> {
    if (!this.tornDown) {
      const signalAll = (sig: NodeJS.Signals): void => {
        for (const pid of this.pidsInHosts()) {
          try { process.kill(pid, sig); } catch { /* already gone */ }
        }
      };
      signalAll('SIGTERM');
      const deadline = Date.now() + graceMs;
      while (this.pidsInHosts().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    return this.destroySync();
  }

  /** Kills every process in the hosts at once and removes everything; safe in an exit handler, idempotent. */
  destroySync(): TeardownReport {
    if (this.tornDown) return { unmounted: [], detached: [], problems: [] };
    for (let round = 0; round < 60; round++) {
      const pids = this.pidsInHosts();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      sleepSync(50);
    }
    return this.teardownSync();
  }

  private teardownSync(): TeardownReport {
    this.tornDown = true;
    const unmounted: string[] = [];
    const detached: string[] = [];
    const problems: string[] = [];
    const attempt = (what: string, f: () => void): void => {
      try { f(); } catch (e) { problems.push(`${what}: ${errorMessage(e)}`); }
    };
    for (const h of [...this.state.hosts].reverse()) {
      if (isMountPoint(h.mountNs)) {
        if (h.dir !== undefined) attempt(`releasing the mounts of ${h.name}`, () => releaseInside(h.mountNs, h.dir as string, unmounted, detached, problems));
        attempt(`releasing ${h.name}'s mount namespace`, () => { cmd('umount', [h.mountNs]); });
      }
      rmSync(h.mountNs, { force: true });
      if (h.shareOut !== undefined) {
        const share = h.shareOut;
        const here = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint)
          .filter((p) => under(p, share)).sort((a, b) => b.length - a.length);
        for (const p of here) attempt(`umount ${p}`, () => { cmd('umount', ['-l', p]); });
      }
      if (cmd('ip', ['link', 'show', h.vethHost], false).ok) attempt(`ip link del ${h.vethHost}`, () => { cmd('ip', ['link', 'del', h.vethHost]); });
      if (existsSync(`/run/netns/${h.netns}`)) attempt(`ip netns del ${h.netns}`, () => { cmd('ip', ['netns', 'del', h.netns]); });
    }
    if (this.state.bridgeMade && cmd('ip', ['link', 'show', this.state.bridge], false).ok) {
      attempt(`ip link del ${this.state.bridge}`, () => { cmd('ip', ['link', 'del', this.state.bridge]); });
    }
    if (this.state.runDirMounted && isMountPoint(this.state.runDir)) {
      attempt(`umount ${this.state.runDir}`, () => { cmd('umount', ['-l', this.state.runDir]); });
    }
    if (problems.length === 0) {
      rmSync(this.state.runDir, { recursive: true, force: true });
      if (this.stateFile) rmSync(this.stateFile, { force: true });
    }
    return { unmounted, detached, problems };
  }
}

/**
 * Run folders of networks whose teardown met a problem keep their state file so that a retry can
 * finish it; nobody may be left to retry, so every new network does, for those clearly dead:
 * bridge and namespaces gone, untouched for a minute (a network being made has its bridge at once).
 */
function sweepDeadNetworks(): void {
  let names: string[];
  try {
    names = readdirSync(RUN_ROOT);
  } catch {
    return;
  }
  for (const name of names) {
    const file = join(RUN_ROOT, name, 'state.json');
    try {
      if (Date.now() - statSync(file).mtimeMs < 60_000) continue;
      const state = JSON.parse(readFileSync(file, 'utf8')) as State;
      if (cmd('ip', ['link', 'show', state.bridge], false).ok) continue;
      if (state.hosts.some((h) => existsSync(`/run/netns/${h.netns}`))) continue;
      HostNetwork.destroyLeftovers(file);
    } catch {
      // unreadable or half-written: not ours to judge
    }
  }
}

interface LoopJson { loopdevices?: { name?: string; 'back-file'?: string | null }[] }

/**
 * Inside one host's mount namespace: unmount everything below `dir` and detach the loop devices
 * backed by files below it. Loop devices are global, so they outlive the namespace unless
 * detached here; their backing paths are read inside the namespace (before anything is
 * unmounted), where the pool they may live in is still mounted.
 */
function releaseInside(mountNs: string, dir: string, unmounted: string[], detached: string[], problems: string[]): void {
  const inside = (command: string, args: readonly string[], check = true) => cmd('nsenter', [`--mount=${mountNs}`, '--', command, ...args], check);
  const loops = (): { device: string; file: string }[] => {
    const text = inside('losetup', ['--list', '--all', '--json', '-O', 'NAME,BACK-FILE']).stdout;
    const doc = text.trim() === '' ? {} : JSON.parse(text) as LoopJson;
    return (doc.loopdevices ?? [])
      .map((d) => ({ device: d.name ?? '', file: (d['back-file'] ?? '').replace(/ \(deleted\)$/, '') }))
      .filter((d) => d.device !== '' && under(d.file, dir));
  };
  const ours = loops();
  const detach = (device: string): void => {
    if (!ours.some((l) => l.device === device) || detached.includes(device)) return;
    // On a device still in use the kernel only marks it to go when released, and says yes.
    if (inside('losetup', ['--detach', device], false).ok) detached.push(device);
  };
  let pending = parseMountinfo(inside('cat', ['/proc/self/mountinfo']).stdout)
    .filter((m) => under(m.mountPoint, dir))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  // Passes until nothing more comes off: a pool's filesystem is busy until the loop devices of
  // the images inside it are detached, whatever the depth of their mount points.
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    for (const m of [...pending]) {
      if (!inside('umount', [m.mountPoint], false).ok) continue;
      unmounted.push(m.mountPoint);
      pending = pending.filter((p) => p !== m);
      progress = true;
      detach(m.source);
    }
  }
  for (const m of pending) {
    if (inside('umount', ['-l', m.mountPoint], false).ok) unmounted.push(m.mountPoint);
    else problems.push(`umount ${m.mountPoint} (in the host's mount namespace) failed`);
  }
  for (const l of [...ours].sort((a, b) => b.file.length - a.file.length)) detach(l.device);
  const left = (): string[] => ours.filter((l) => existsSync(`/sys/block/${l.device.replace('/dev/', '')}/loop`)).map((l) => l.device);
  // A lazily unmounted pool lets go of its device only once the kernel has finished with it.
  for (let i = 0; i < 200 && left().length > 0; i++) sleepSync(50);
  for (const d of left()) problems.push(`loop device ${d} is still attached`);
}
