// `flocker cluster up --backend p2p` without --isolate (root): each node its own pool (a btrfs
// file the agent mounts), transfer ports of their own on 127.0.0.1; SIGINT leaves no mount and no
// loop device, pools included.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { currentMounts, startCluster } from '../support/cluster.js';
import { until } from '../support/until.js';

const isRoot = process.getuid?.() === 0;
const loopsUnder = (dir: string): string[] =>
  execFileSync('losetup', ['--list', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${dir}/`));

test('p2p nodes have pools and transfer ports of their own; a dataset mounts; SIGINT releases pools and images', async () => {
  if (!isRoot) return console.log('skipped: the p2p backend needs root');
  const c = await startCluster({ nodes: 2, backend: 'p2p' });
  try {
    const yml = c.nodes.map((n) => parseYaml(readFileSync(n.config, 'utf8')) as { dataset: { root_path: string; transfer: { port: number; listen: string } } });
    assert.equal(yml.map((y) => y.dataset.root_path), [join(c.dir, 'node-1', 'pool'), join(c.dir, 'node-2', 'pool')]);
    assert.is.not(yml[0]!.dataset.transfer.port, yml[1]!.dataset.transfer.port);
    const ds = await c.client.createDataset({ primary: c.nodes[0]!.uuid, maximum_size: 64 * 1024 * 1024 });
    const mountPoint = join(c.nodes[0]!.mount_root, ds.dataset_id);
    await until('the dataset mounted', () => currentMounts().some((m) => m.mountPoint === mountPoint), 90_000)
      .catch((e: Error) => { throw new Error(`${e.message}\n${c.output()}`); });

    process.kill(c.pid, 'SIGINT');
    assert.is(await c.exited, 0, c.output());
    assert.equal(currentMounts().filter((m) => m.mountPoint.startsWith(`${c.dir}/`)).map((m) => m.mountPoint), [], 'no mount left');
    await until('no loop device left', () => loopsUnder(c.dir).length === 0, 5_000);
  } finally {
    await c.stop();
  }
});

test.run();
