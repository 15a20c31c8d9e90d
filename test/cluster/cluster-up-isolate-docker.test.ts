// Issue 10 with a real Docker engine: `cluster up --isolate --backend p2p --plugins` makes every
// node its own host with its own pool. A container on node 1 writes to a flocker volume; a
// container asking node 2's driver for the same volume gets the data, copied over the network.
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { childPids, startCluster } from '../support/cluster.js';
import { until } from '../support/until.js';
import { docker, dockerTry, ensureDocker } from '../support/docker.js';

const isRoot = process.getuid?.() === 0;

test('docker run --volume-driver flocker-node-2 for a volume held by node 1 moves it over the network and mounts it', async () => {
  if (!isRoot) return console.log('skipped: --isolate needs root');
  const env = await ensureDocker();
  if (!env.available) return console.log(`skipped: ${env.reason}`);
  const c = await startCluster({ nodes: 2, backend: 'p2p', isolate: true, plugins: true, pluginDir: '/run/docker/plugins' });
  const vol = `p2p-${randomBytes(3).toString('hex')}`;
  try {
    const token = randomBytes(8).toString('hex');
    const [n1] = c.nodes;
    const ds = await c.client.createDataset({ primary: n1!.uuid, maximum_size: 64 * 1024 * 1024, metadata: { name: vol } });
    const path = `${n1!.mount_root}/${ds.dataset_id}`;
    await until('the volume mounted on node 1', async () => (await c.client.stateDatasets()).some((d) => d.dataset_id === ds.dataset_id && d.path === path), 120_000);
    const agent1 = childPids(c).find((p) => p.name === 'agent node-1')?.pid ?? -1;
    execFileSync('nsenter', ['-t', String(agent1), '-m', 'sh', '-c', `echo ${token} > ${path}/token && sync`]);
    const read = await docker(['run', '--rm', '--volume-driver', 'flocker-node-2', '-v', `${vol}:/data`, env.image, 'cat', '/data/token'], 300_000);
    assert.is(read.trim(), token, c.output());
    const [, n2] = c.nodes;
    const held = (await c.client.stateDatasets()).find((d) => d.primary === n2!.uuid);
    assert.ok(held, 'node 2 holds the dataset now');
  } finally {
    await dockerTry(['volume', 'rm', '-f', vol]);
    await c.stop();
  }
});

test.run();
