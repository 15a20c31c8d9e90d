// The network side of the simulated hosts: one bridge in the default namespace (its address is the
// hosts' gateway), and for each host a network namespace joined to it by a veth pair.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cmd, HostsError } from './commands.js';
import { RUN_ROOT, type Host } from './host.js';
import { ipToNumber, numberToIp, pickSubnet, usedNetworks } from './subnet.js';
import type { Teardown } from './teardown.js';

export function linkExists(name: string): boolean {
  return cmd('ip', ['link', 'show', name], false).ok;
}

/** A bridge name used neither by a link nor by another network's run folder (which may be mid-teardown). */
export function freeBridgeName(): string {
  for (let i = 0; i < 20; i++) {
    const candidate = `flk${randomBytes(2).toString('hex')}`;
    if (!linkExists(candidate) && !existsSync(join(RUN_ROOT, candidate))) return candidate;
  }
  throw new HostsError('could not find a free bridge name');
}

/** A /24 that no interface or route on this machine uses yet, and the gateway address in it. */
export function freeSubnet(random: () => number): { readonly subnet: string; readonly gateway: string } {
  const used = usedNetworks(cmd('ip', ['-o', '-4', 'addr', 'show']).stdout, cmd('ip', ['-4', 'route', 'show', 'table', 'all']).stdout);
  const subnet = pickSubnet(used, random);
  if (!subnet) throw new HostsError('no free 10.x.y.0/24 network for the simulated hosts');
  return { subnet: `${numberToIp(subnet.base)}/24`, gateway: numberToIp(subnet.base + 1) };
}

/** A host's address: the gateway's plus its index, so addresses follow the order hosts were asked for. */
export function hostAddress(gateway: string, index: number): string {
  return numberToIp((ipToNumber(gateway) ?? 0) + index);
}

export function addBridge(bridge: string, gateway: string): void {
  cmd('ip', ['link', 'add', bridge, 'type', 'bridge']);
  cmd('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
  cmd('ip', ['link', 'set', bridge, 'up']);
}

/** The host's network namespace, with `eth0` on the bridge and a default route through the gateway. */
export function addHostLink(host: Host, bridge: string, gateway: string): void {
  const peer = `${bridge}p${host.index}`;
  cmd('ip', ['netns', 'add', host.netns]);
  cmd('ip', ['link', 'add', host.vethHost, 'type', 'veth', 'peer', 'name', peer, 'netns', host.netns]);
  cmd('ip', ['link', 'set', host.vethHost, 'master', bridge]);
  cmd('ip', ['link', 'set', host.vethHost, 'up']);
  const inNs = (...args: string[]): void => { cmd('ip', ['-n', host.netns, ...args]); };
  inNs('link', 'set', peer, 'name', 'eth0');
  inNs('addr', 'add', `${host.address}/24`, 'dev', 'eth0');
  inNs('link', 'set', 'eth0', 'up');
  inNs('link', 'set', 'lo', 'up');
  inNs('route', 'add', 'default', 'via', gateway);
}

/** Down: the host is cut off and its connections stall (they are not reset) until it is set up again. */
export function setHostLink(host: Host, state: 'up' | 'down'): void {
  cmd('ip', ['link', 'set', host.vethHost, state]);
}

/** Whatever of the host's link and namespace exists; safe on a half-made host. */
export function removeHostLink(host: Host, t: Teardown): void {
  if (linkExists(host.vethHost)) t.attempt(`ip link del ${host.vethHost}`, () => { cmd('ip', ['link', 'del', host.vethHost]); });
  if (existsSync(`/run/netns/${host.netns}`)) t.attempt(`ip netns del ${host.netns}`, () => { cmd('ip', ['netns', 'del', host.netns]); });
}

export function removeBridge(bridge: string, t: Teardown): void {
  if (linkExists(bridge)) t.attempt(`ip link del ${bridge}`, () => { cmd('ip', ['link', 'del', bridge]); });
}
