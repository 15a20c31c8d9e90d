// Separate hosts on one machine: each host is a network namespace (its own address on a bridge
// this module creates) plus a persistent mount namespace of its own, so processes started in it
// share nothing with the others but the network. The default namespace gets an address on the
// bridge too (the "gateway"), so a service listening there is reachable from every host.
//
// Both namespaces are kept by bind mounts (the net one by `ip netns`, the mount one under
// /run/flocker-hosts/<bridge>/), so a host outlives its processes like a real machine: an agent
// restarted in it finds the mounts it left. Everything made is recorded in a state file as it is
// made, so a teardown (here, from an exit handler, or from a later process) removes all of it.
//
// This module is the hosts' life cycle and the record of what was made; the parts are made and
// removed by links.ts (network), mount-ns.ts and share-out.ts (mounts), host-processes.ts.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../errors.js';
import { cmd, HostsError, requireHostTools } from './commands.js';
import { RUN_ROOT, type Host } from './host.js';
import { killHostProcesses, pidsInHosts, stopHostProcesses } from './host-processes.js';
import { addBridge, addHostLink, freeBridgeName, freeSubnet, hostAddress, linkExists, removeBridge, removeHostLink, setHostLink } from './links.js';
import { dropPinningCopies, isMountPoint, makePrivateMountNs, mountHostSysfs, releaseMountNs } from './mount-ns.js';
import { makeSharedOutMountNs, releaseShareOut } from './share-out.js';
import { NOTHING_TORN_DOWN, Teardown, type TeardownReport } from './teardown.js';

export { HostsError } from './commands.js';
export type { Host } from './host.js';
export type { TeardownReport } from './teardown.js';

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
  /** The process that made the hosts: once it is gone (even by kill -9), they are anybody's to sweep. */
  owner?: ProcessStamp;
}

interface ProcessStamp {
  pid: number;
  /** Field 22 of /proc/PID/stat: tells a reused pid from the owner. */
  started: string;
}

function stampOf(pid: number): ProcessStamp | undefined {
  try {
    // The command name (field 2) may hold spaces and parentheses; the fields after it do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return started === undefined ? undefined : { pid, started };
  } catch {
    return undefined;
  }
}

function ownerGone(owner: ProcessStamp | undefined): boolean {
  if (!owner) return false;
  return stampOf(owner.pid)?.started !== owner.started;
}

export interface CreateHostsOptions {
  /** Also record what is made here (e.g. a cluster folder), for a cleanup after a kill -9. */
  readonly stateFile?: string;
  readonly random?: () => number;
}

export class HostNetwork {
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
    sweepDeadNetworks();
    const bridge = freeBridgeName();
    const owner = stampOf(process.pid);
    const net = new HostNetwork({
      bridge, runDir: join(RUN_ROOT, bridge), bridgeMade: false, runDirMounted: false, hosts: [], ...(owner ? { owner } : {}),
    }, opts.stateFile);
    try {
      mkdirSync(net.state.runDir, { recursive: true });
      net.state.runDirMounted = true; // recorded first: a failure half-way still unmounts it
      net.save();
      cmd('mount', ['--bind', net.state.runDir, net.state.runDir]);
      cmd('mount', ['--make-private', net.state.runDir]);
      net.makeBridge(opts.random ?? Math.random);
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
      return NOTHING_TORN_DOWN;
    }
    return new HostNetwork(state, stateFile).destroySync();
  }

  private save(): void {
    const text = `${JSON.stringify(this.state, null, 2)}\n`;
    writeFileSync(join(this.state.runDir, 'state.json'), text);
    if (this.stateFile) writeFileSync(this.stateFile, text);
  }

  private makeBridge(random: () => number): void {
    const { subnet, gateway } = freeSubnet(random);
    this.state.subnet = subnet;
    this.state.gateway = gateway;
    this.state.bridgeMade = true; // recorded first: a failure half-way still removes it
    this.save();
    addBridge(this.state.bridge, gateway);
  }

  private makeHost(spec: HostSpec, index: number): void {
    const br = this.state.bridge;
    const host: Host = {
      name: spec.name, index,
      netns: `${br}-${spec.name}`,
      address: hostAddress(this.gateway, index),
      mountNs: join(this.state.runDir, `${spec.name}.mnt`),
      vethHost: `${br}h${index}`,
      ...(spec.dir !== undefined ? { dir: spec.dir } : {}),
      ...(spec.shareOut !== undefined ? { shareOut: spec.shareOut } : {}),
    };
    this.state.hosts.push(host); // recorded first: a failure half-way still removes its parts
    this.save();
    addHostLink(host, br, this.gateway);
    if (host.shareOut === undefined) makePrivateMountNs(host);
    else makeSharedOutMountNs(host, host.shareOut);
    dropPinningCopies(host);
    mountHostSysfs(host);
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
    return spawn(command, args, opts);
  }

  /** Cuts the host off the bridge; its connections stall (they are not reset) until linkUp. */
  linkDown(host: Host): void {
    setHostLink(host, 'down');
  }

  linkUp(host: Host): void {
    setHostLink(host, 'up');
  }

  /** Every process inside any of our hosts (started by us or not), except ourselves. */
  pidsInHosts(): number[] {
    return pidsInHosts(this.state.hosts);
  }

  /** Stops every process in the hosts (SIGTERM, then SIGKILL after graceMs), then removes everything. */
  async destroy(graceMs = 10_000): Promise<TeardownReport> {
    if (!this.tornDown) await stopHostProcesses(this.state.hosts, graceMs);
    return this.destroySync();
  }

  /** Kills every process in the hosts at once and removes everything; safe in an exit handler, idempotent. */
  destroySync(): TeardownReport {
    if (this.tornDown) return NOTHING_TORN_DOWN;
    killHostProcesses(this.state.hosts);
    return this.teardownSync();
  }

  /** Newest first, each part only if it was made: also for a network a failure left half-made. */
  private teardownSync(): TeardownReport {
    this.tornDown = true;
    const t = new Teardown();
    for (const h of [...this.state.hosts].reverse()) {
      releaseMountNs(h, t);
      if (h.shareOut !== undefined) releaseShareOut(h.shareOut, t);
      removeHostLink(h, t);
    }
    if (this.state.bridgeMade) removeBridge(this.state.bridge, t);
    if (this.state.runDirMounted && isMountPoint(this.state.runDir)) {
      t.attempt(`umount ${this.state.runDir}`, () => { cmd('umount', ['-l', this.state.runDir]); });
    }
    if (t.problems.length === 0) {
      rmSync(this.state.runDir, { recursive: true, force: true });
      if (this.stateFile) rmSync(this.stateFile, { force: true });
    }
    return t.report();
  }
}

/**
 * Run folders of networks whose teardown met a problem keep their state file so that a retry can
 * finish it; nobody may be left to retry, so every new network does, for those clearly dead: the
 * process that made them is gone, or bridge and namespaces are gone and the folder was untouched
 * for a minute (a network being made has its bridge at once).
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
      const state = JSON.parse(readFileSync(file, 'utf8')) as State;
      // A process killed with -9 (a test runner's timeout, a killed bench) leaves its hosts whole.
      if (ownerGone(state.owner)) {
        HostNetwork.destroyLeftovers(file);
        continue;
      }
      if (Date.now() - statSync(file).mtimeMs < 60_000) continue;
      if (linkExists(state.bridge)) continue;
      if (state.hosts.some((h) => existsSync(`/run/netns/${h.netns}`))) continue;
      HostNetwork.destroyLeftovers(file);
    } catch {
      // unreadable or half-written: not ours to judge
    }
  }
}
