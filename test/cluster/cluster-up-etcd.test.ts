// `flocker cluster up --store etcd --control-replicas 2`: a local 3-member etcd, two control
// replicas, agents spread over them; a change through either replica converges; stopping
// leaves no process (etcd included) behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { alive, childPids, startCluster } from '../support/cluster.js';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('two replicas over a local etcd: changes through either converge on agents of both; Ctrl-C stops everything', async () => {
  const c = await startCluster({ nodes: 2, extraArgs: ['--store', 'etcd', '--control-replicas', '2'] });
  let pids: { pid: number; name: string }[] = [];
  try {
    const info = JSON.parse(readFileSync(join(c.dir, 'cluster.json'), 'utf8')) as { apis: string[]; store: string };
    assert.is(info.apis.length, 2);
    assert.match(info.store, /^etcd:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    pids = childPids(c);
    assert.is(pids.filter((p) => p.name.startsWith('etcd')).length, 3);
    assert.is(pids.filter((p) => p.name.startsWith('control')).length, 2);
    const second = clientFromCertsDir({ host: '127.0.0.1', port: Number(new URL(info.apis[1]!).port), certsPath: c.certsPath, user: c.user });
    try {
      const [n1, n2] = c.nodes as [typeof c.nodes[0], typeof c.nodes[0]];
      // node-1's agent talks to replica 1: create through replica 2.
      const d = await second.createDataset({ primary: n1.uuid, metadata: { name: 'via-2' } });
      const path = await until('mounted on node-1', async () => (await c.client.stateDatasets()).find((s) => s.dataset_id === d.dataset_id && s.primary === n1.uuid)?.path);
      assert.ok(existsSync(path));
      // node-2's agent talks to replica 2: move through replica 1.
      await c.client.moveDataset(d.dataset_id, n2.uuid);
      await until('moved to node-2', async () => ((await second.stateDatasets()).find((s) => s.dataset_id === d.dataset_id && s.primary === n2.uuid) ? true : undefined));
      const [x, y] = await Promise.all([c.client.convergence(), second.convergence()]);
      assert.equal(x.map((r) => [r.dataset_id, r.phase]), y.map((r) => [r.dataset_id, r.phase]));
    } finally {
      second.close();
    }
  } finally {
    await c.stop();
  }
  for (const p of pids) assert.not.ok(alive(p.pid), `${p.name} (${p.pid}) stopped`);
});

test.run();
