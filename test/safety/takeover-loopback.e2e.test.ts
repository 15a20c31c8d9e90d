// Taking a dataset over from a dead node on a shared loopback pool. Each agent runs in its own
// mount namespace (hosts sharing a network disk), so a killed agent's mount stays, as on a node
// that is gone while its kernel still holds the device. After --node-timeout the node is shown
// unreachable; a forced move fences it; the new holder writes the fencing token into the pool,
// takes the volume over and mounts it with the data. The fenced node, with the configuration it
// last saw, may no longer attach or mount the dataset; when its agent returns it takes its own
// mount down first and never reports the dataset as its own.
//
// One thing is simulated, not real: loop devices belong to the one kernel all "hosts" share, so
// the new holder finds and reuses the dead node's loop device (its detach there only marks the
// device to go once unused) where a real second host would make its own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { poolFenceTokens } from '../../src/backends/fence-tokens.js';
import type { Action } from '../../src/converge/changes.js';
import { asDatasetId, asNodeId } from '../../src/model/ids.js';
import { fenceCheck } from '../../src/roles/agent/fencing.js';
import { listLoops } from '../../src/sys/losetup.js';
import { dataset, deployment } from '../converge/fixtures.js';
import { makeP2PBed, type P2PBed } from '../p2p/harness.js';
import { failure } from '../support/failure.js';
import { cli, convergingLines } from './support.js';

const MiB = 1024 * 1024;
let bed: P2PBed;

test.before(async () => {
  bed = await makeP2PBed(2, { backend: 'loopback' });
  await bed.startControl(['--node-timeout', '3']);
  bed.startAgent(0);
  bed.startAgent(1);
  await bed.until('both agents reporting', async () => ((await bed.client.stateNodes()).length === 2 ? true : undefined), 60_000);
});

test.after(async () => {
  if (bed) await bed.cleanup();
});

test('forced move off a dead loopback node: the new node takes the volume over; the old one, back, lets go first', async () => {
  const [a, b] = [bed.nodes[0]!.uuid, bed.nodes[1]!.uuid];
  const pool = bed.nodes[0]!.pool;
  const id = (await bed.client.createDataset({ primary: a, maximum_size: 64 * MiB, metadata: { name: 'fenced' } })).dataset_id;
  const mp = (i: number) => `${bed.nodes[i]!.mountRoot}/${id}`;
  /** What is mounted at the dataset's mount point in node i's own namespace ('' for nothing). */
  const mountedIn = async (i: number) => (await bed.sh(i, `findmnt -rn -o SOURCE --mountpoint ${mp(i)} || true`)).trim();
  const holders = async () => (await bed.client.stateDatasets()).filter((s) => s.dataset_id === id).map((s) => s.primary);
  await bed.until('the dataset mounted on A', async () => ((await holders()).includes(a) ? true : undefined), 120_000);
  const content = `written on A ${Math.random()}\n`;
  await bed.sh(0, `printf '%s' '${content}' > ${mp(0)}/data.txt && sync`);

  await bed.kill9Agent(0);
  assert.match(await mountedIn(0), /^\/dev\/loop\d+$/, 'the dead node\'s kernel still has the dataset mounted');
  await bed.until('the dataset shown unreachable', async () => {
    const row = (await bed.client.convergence()).find((r) => r.dataset_id === id);
    return row?.phase === 'unreachable' ? true : undefined;
  }, 60_000);
  const forced = await cli(bed, ['move', '--dataset', id, '--destination', b, '--force']);
  assert.is(forced.code, 0, forced.err);

  await bed.until('B took the volume over and mounted it', async () => ((await holders()).includes(b) ? true : undefined), 120_000);
  assert.is(await bed.sh(1, `cat ${mp(1)}/data.txt`), content, 'B sees what A wrote');
  const token = JSON.parse(readFileSync(join(pool, 'fences', `${id}.json`), 'utf8')) as { fenced: string; holder: string };
  assert.equal([token.fenced, token.holder], [a, b], 'B recorded the fence in the pool before touching the volume');

  // A partitioned node never hears of the fence: with the configuration it last saw (the dataset
  // its own), the check its agent runs before every attach and mount refuses both.
  const stale = deployment([dataset(asDatasetId(id), asNodeId(a))]);
  const check = fenceCheck(poolFenceTokens(pool), asNodeId(a), () => stale);
  const volumeId = `block-${id}`;
  const attempts: Action[] = [
    { kind: 'attach', datasetId: asDatasetId(id), volumeId },
    { kind: 'mount', datasetId: asDatasetId(id), volumeId, mountPoint: mp(0) },
  ];
  for (const act of attempts) assert.match((await failure(check(act))).message, /^fenced: a forced move/, `${act.kind} refused`);

  // A comes back: its stale mount goes before it reports anything of the dataset.
  const logBefore = bed.nodes[0]!.log.length;
  bed.startAgent(0);
  let reportedOnA = false;
  await bed.until('A took its mount down', async () => {
    if ((await holders()).includes(a)) reportedOnA = true;
    return (await mountedIn(0)) === '' ? true : undefined;
  }, 120_000);
  await bed.until('A reporting again', async () => {
    const n = (await bed.client.stateNodes()).find((x) => x.uuid === a);
    return n && !n.unreachable ? true : undefined;
  }, 60_000);
  assert.is(reportedOnA, false, 'A never reported the dataset as its own');
  const acted = convergingLines(bed.nodes[0]!.log.slice(logBefore)).flatMap((l) => l.actions ?? []).filter((x) => x.datasetId === id);
  assert.equal(acted.map((x) => x.kind), ['unmount'], 'A only took its mount down: no attach, no mount');

  assert.equal(await holders(), [b], 'mounted on B only');
  assert.is(await mountedIn(0), '');
  assert.is(await bed.sh(1, `cat ${mp(1)}/data.txt`), content, 'the data is identical');
  const loops = (await listLoops()).filter((l) => l.backingFile.startsWith(`${pool}/`));
  assert.is(loops.length, 1, `one loop device for the volume, B's: ${JSON.stringify(loops)}`);
  assert.match(await mountedIn(1), loops[0]!.device);
});

test.run();
