// `flocker cluster up --backend loopback` (needs root): datasets are loop-mounted ext4 files in
// the pool, and stopping the cluster leaves no mount and no loop device behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentMounts, mountsUnder, startCluster } from '../support/cluster.js';
import { skipTest } from '../support/skip.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const loopsUnder = (dir: string): string[] =>
  execFileSync('losetup', ['--list', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${dir}/`));

test('a loopback dataset is mounted as ext4, and Ctrl-C/SIGTERM unmounts and detaches it', async () => {
  if (!isRoot) {
    skipTest('the loopback backend needs root');
    return;
  }
  const c = await startCluster({ nodes: 2, backend: 'loopback' });
  try {
    const node = c.nodes[0]!;
    const ds = await c.client.createDataset({ primary: node.uuid, maximum_size: 64 * 1024 * 1024, metadata: { name: 'loopy' } });
    const mountPoint = join(node.mount_root, ds.dataset_id);
    const deadline = Date.now() + 40_000;
    while (!/dataset loopy converged on/.test(c.output())) {
      assert.ok(Date.now() < deadline, `not converged in 40 s:\n${c.output()}`);
      await sleep(200);
    }
    assert.equal(mountsUnder(c.dir), [mountPoint]);
    const fsType = currentMounts().find((m) => m.mountPoint === mountPoint)?.fsType;
    assert.is(fsType, 'ext4');
    writeFileSync(join(mountPoint, 'data.txt'), 'kept');
    assert.is(loopsUnder(c.dir).length, 1);

    process.kill(c.pid, 'SIGTERM');
    assert.is(await c.exited, 0, c.output());
    assert.equal(mountsUnder(c.dir), [], 'nothing left mounted');
    assert.equal(loopsUnder(c.dir), [], 'no loop device left attached');
  } finally {
    await c.stop();
  }
});

test.run();
