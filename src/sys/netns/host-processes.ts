// Finding and stopping the processes inside the simulated hosts. Not only the ones we started: an
// agent forks mount helpers, dockerd its containers, and a host is only empty when all are gone.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { sleepSync } from './commands.js';
import type { Host } from './host.js';
import { isMountPoint } from './mount-ns.js';

function nsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Every process in any of `hosts`' network or mount namespaces, except ourselves. */
export function pidsInHosts(hosts: readonly Host[]): number[] {
  const wanted = new Set<string>();
  for (const h of hosts) {
    const net = nsInode(`/run/netns/${h.netns}`);
    // Until the namespace is bound on it the file's inode is a tmpfs one, whose number some
    // unrelated namespace may have.
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

function signalAll(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try { process.kill(pid, sig); } catch { /* already gone */ }
  }
}

/** SIGTERM to every process in the hosts, then waits up to graceMs for them to go. */
export async function stopHostProcesses(hosts: readonly Host[], graceMs: number): Promise<void> {
  signalAll(pidsInHosts(hosts), 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidsInHosts(hosts).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** SIGKILL until none is left (a dying parent may fork once more); synchronous, for an exit handler. */
export function killHostProcesses(hosts: readonly Host[]): void {
  for (let round = 0; round < 60; round++) {
    const pids = pidsInHosts(hosts);
    if (pids.length === 0) break;
    signalAll(pids, 'SIGKILL');
    sleepSync(50);
  }
}
