// End to end on the loopback backend (root only): real agents make ext4 on first use, a move
// keeps the data, delete leaves no file and no loop device.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listLoops } from '../../src/sys/losetup.js';
import { removeTestBed, startTestBed, until, type TestBed } from './harness.js';
import { skipTest } from '../support/skip.js';

const root = process.getuid?.() === 0;
let bed: TestBed | undefined;

test.before(async () => {
  if (!root) return;
  bed = await startTestBed('agent-loop', 'loopback');
});

test.after(() => removeTestBed(bed));

test('loopback: create, move with data, delete', async () => {
  if (!bed) {
    skipTest('loopback needs root');
    return;
  }
  const b = bed;
  const [n0, n1] = b.nodes;
  const at = async (id: string, node: string) => {
    const st = (await b.client.stateDatasets()).find((d) => d.dataset_id === id);
    return st?.primary === node && st.path ? st : undefined;
  };
  const ds = await b.client.createDataset({ primary: n0!.uuid, maximum_size: 64 * 1024 * 1024 });
  const st = await until('mounted on node 0', () => at(ds.dataset_id, n0!.uuid), 30_000);
  writeFileSync(join(st.path!, 'f.txt'), 'ext4 data');
  await b.client.moveDataset(ds.dataset_id, n1!.uuid);
  await until('mounted on node 1', () => at(ds.dataset_id, n1!.uuid), 30_000);
  assert.is(readFileSync(join(n1!.mountRoot, ds.dataset_id, 'f.txt'), 'utf8'), 'ext4 data');
  assert.not.ok(existsSync(join(n0!.mountRoot, ds.dataset_id, 'f.txt')));
  await b.client.deleteDataset(ds.dataset_id);
  await until('volume file gone', () => {
    const files = ['unattached', 'attached'].flatMap((d) => {
      const p = join(b.pool, d);
      return existsSync(p) ? readdirSync(p, { recursive: true }).map(String).filter((f) => f.includes('block-')) : [];
    });
    return files.length === 0 ? true : undefined;
  }, 30_000);
  assert.equal((await listLoops()).filter((l) => l.backingFile.startsWith(b.pool + '/')), []);
});

test.run();
