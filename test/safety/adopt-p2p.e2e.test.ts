// Adopt on the p2p backend, with nothing shared but the network (each node its own namespaces and
// btrfs pool): the manifest each dataset carries inside its copy brings back metadata and size
// after control.sqlite is lost, and, as the copy moves with the dataset, a dataset moved before
// the loss comes back on the node it was moved to — never on the one that handed it off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LsRow } from '../../src/cli/format/datasets.js';
import { makeP2PBed, type P2PBed } from '../p2p/harness.js';
import { cli, cliJson, comparable } from './support.js';

const MiB = 1024 * 1024;
let bed: P2PBed;
const placed: { id: string; node: number; content: string }[] = [];

test.before(async () => {
  bed = await makeP2PBed(2);
  await bed.startControl();
  bed.startAgent(0);
  bed.startAgent(1);
  await bed.until('both agents reporting', async () => ((await bed.client.stateNodes()).length === 2 ? true : undefined), 60_000);
});

test.after(async () => {
  if (bed) await bed.cleanup();
});

const uuid = (i: number) => bed.nodes[i]!.uuid;
const file = (p: { id: string; node: number }) => `${bed.nodes[p.node]!.mountRoot}/${p.id}/data.txt`;

async function allConverged(n: number): Promise<true | undefined> {
  const rows = await bed.client.convergence();
  return rows.length === n && rows.every((r) => r.phase === 'converged') ? true : undefined;
}

async function assertDataIntact(): Promise<void> {
  for (const p of placed) assert.is(await bed.sh(p.node, `cat ${file(p)}`), p.content, `dataset ${p.id} on node ${p.node}`);
}

/** Control restarted on an empty database: every node keeps what it holds and says so. */
async function loseTheDatabase(): Promise<void> {
  await bed.control!.stop();
  rmSync(join(bed.hosts.dir, 'control', 'control.sqlite'));
  await bed.startControl();
  await bed.until('every held dataset reported as kept, with a reason', async () => {
    const rows = await bed.client.convergence();
    return placed.every((p) => rows.some((r) => r.dataset_id === p.id && r.phase === 'error' && /although this node holds it.*flocker adopt/.test(r.reason)))
      ? true : undefined;
  }, 120_000);
  assert.is((await bed.client.listDatasets()).datasets.length, 0);
  await assertDataIntact();
}

test('adopt round trip on p2p: delete control.sqlite, adopt, the same flocker ls (metadata and size)', async () => {
  for (const [i, node] of [0, 0, 1].entries()) {
    const d = await bed.client.createDataset({ primary: uuid(node), maximum_size: (64 + 16 * i) * MiB, metadata: { name: `p2p-${i}`, tier: 'db' } });
    placed.push({ id: d.dataset_id, node, content: `dataset ${i} ${d.dataset_id} ${Math.random()}\n` });
  }
  await bed.until('every dataset converged where it was created', () => allConverged(placed.length), 120_000);
  for (const p of placed) await bed.sh(p.node, `printf '%s' '${p.content}' > ${file(p)} && sync`);
  await bed.until('each holder reports the manifest it wrote into the copy', async () => {
    const ms = await bed.client.stateManifests();
    return placed.every((p, i) => ms.some((m) => m.dataset_id === p.id && m.node_uuid === uuid(p.node) && m.held && m.metadata.name === `p2p-${i}`))
      ? true : undefined;
  }, 60_000);
  const before = await cliJson<LsRow[]>(bed, ['ls']);
  assert.equal(before.map((r) => [r.dataset_id, r.metadata.name, r.maximum_size]).sort(),
    placed.map((p, i) => [p.id, `p2p-${i}`, (64 + 16 * i) * MiB]).sort());

  await loseTheDatabase();
  const dry = await cli(bed, ['adopt', '--dry-run']);
  assert.is(dry.code, 0, dry.err);
  for (const p of placed) {
    assert.match(dry.out, new RegExp(`would add dataset ${p.id} \\(name=p2p-\\d,tier=db\\) on node ${uuid(p.node).slice(0, 8)}, which holds it`));
  }
  const adopted = await cli(bed, ['adopt']);
  assert.is(adopted.code, 0, adopted.err);
  assert.match(adopted.out, /adopted: 3 changes to the configuration/);
  await bed.until('converged again', () => allConverged(placed.length), 120_000);
  assert.equal(comparable(await cliJson<LsRow[]>(bed, ['ls'])), comparable(before));
  await assertDataIntact();
});

test('after a p2p move, adopt rebuilds the dataset on the node it was moved to, not the source', async () => {
  const moved = placed[0]!;
  await bed.client.moveDataset(moved.id, uuid(1));
  await bed.until('the moved dataset converged on node 1', async () => {
    const s = (await bed.client.stateDatasets()).find((d) => d.dataset_id === moved.id);
    return s?.primary === uuid(1) ? allConverged(placed.length) : undefined;
  }, 240_000);
  moved.node = 1;
  const before = await cliJson<LsRow[]>(bed, ['ls']);
  assert.is(before.find((r) => r.dataset_id === moved.id)?.primary, uuid(1));

  await loseTheDatabase();
  const reports = (await bed.client.stateManifests()).filter((m) => m.dataset_id === moved.id);
  assert.equal(reports.map((m) => [m.node_uuid, m.held, m.metadata.name]), [[uuid(1), true, 'p2p-0']], 'only the destination reports it');
  const adopted = await cli(bed, ['adopt']);
  assert.is(adopted.code, 0, adopted.err);
  assert.match(adopted.out, new RegExp(`add dataset ${moved.id} \\(name=p2p-0,tier=db\\) on node ${uuid(1).slice(0, 8)}, which holds it`));
  await bed.until('converged again', () => allConverged(placed.length), 120_000);
  assert.equal(comparable(await cliJson<LsRow[]>(bed, ['ls'])), comparable(before));
  await assertDataIntact();
});

test.run();
