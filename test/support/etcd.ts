// A real 3-member etcd cluster (Debian's etcd-server) on free loopback ports in a temp folder,
// for tests. stop() kills every member and removes the folder; so does process exit, should a
// test file die before its after-hook.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalEtcd, type LocalEtcd } from '../../src/sys/etcd-cluster.js';

export interface TestEtcd extends LocalEtcd {
  readonly dir: string;
  /** An etcd:// store URL for `prefix` (a fresh random one by default). */
  url(prefix?: string): string;
}

export function randomPrefix(): string {
  return `/t-${Math.random().toString(36).slice(2, 10)}/`;
}

export async function startTestEtcd(size = 3): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-etcd-'));
  let etcd: LocalEtcd;
  try {
    etcd = await startLocalEtcd({ dir, size });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const onExit = (): void => {
    for (const m of etcd.members) m.process?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    get members() { return etcd.members; },
    endpoints: etcd.endpoints,
    kill: (i) => etcd.kill(i),
    restart: (i) => etcd.restart(i),
    dir,
    url(prefix = randomPrefix()) {
      return `etcd://${etcd.endpoints.join(',')}${prefix.replace(/\/$/, '')}`;
    },
    async stop() {
      process.off('exit', onExit);
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
