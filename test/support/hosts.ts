// Simulated hosts for tests: N hosts (own network + mount namespace each, own folder under a temp
// dir) that are removed whatever happens: destroy() in a finally, and a last-resort synchronous
// teardown when the test process exits or is told to stop.
//
//   const h = makeHosts(2);
//   try { h.net.spawnInHost(h.hosts[0], ['node', 'server.js']); ... } finally { await h.destroy(); }
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostNetwork, type Host, type TeardownReport } from '../../src/sys/netns/hosts.js';

export interface TestHosts {
  readonly net: HostNetwork;
  readonly hosts: readonly Host[];
  /** Parent of every host's own folder (host.dir = DIR/<name>). */
  readonly dir: string;
  /** Runs argv inside `host` to completion: its stdout, or a rejection with its stderr. */
  run(host: Host, argv: readonly string[], timeoutMs?: number): Promise<string>;
  destroy(): Promise<TeardownReport>;
}

const live = new Set<{ net: HostNetwork; dir: string }>();

function lastResort(): void {
  for (const e of live) {
    e.net.destroySync();
    rmSync(e.dir, { recursive: true, force: true });
  }
  live.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', lastResort);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      lastResort();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** `shareOut`: each host's DIR/<name>/shared propagates its mounts to the default namespace. */
export function makeHosts(n: number, opts: { shareOut?: boolean } = {}): TestHosts {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), 'flocker-hosts-'));
  const names = Array.from({ length: n }, (_, i) => `host-${i + 1}`);
  for (const name of names) mkdirSync(join(dir, name));
  let net: HostNetwork;
  try {
    net = HostNetwork.create(names.map((name) => ({
      name, dir: join(dir, name), ...(opts.shareOut ? { shareOut: join(dir, name, 'shared') } : {}),
    })));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const entry = { net, dir };
  live.add(entry);
  return {
    net,
    hosts: net.hosts,
    dir,
    run: (host, argv, timeoutMs = 30_000) => new Promise((resolve, reject) => {
      const [command, ...args] = [...net.hostCommand(host), ...argv] as [string, ...string[]];
      execFile(command, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${argv.join(' ')} in ${host.name}: ${stderr || err.message}`));
        else resolve(stdout);
      });
    }),
    destroy: async () => {
      const report = await net.destroy(5_000);
      live.delete(entry);
      rmSync(dir, { recursive: true, force: true });
      return report;
    },
  };
}
