// End to end, when things go wrong: an agent killed mid-move, a control restart, a second agent
// with the same node certificate.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flocker, removeTestBed, startTestBed, until, type TestBed } from './harness.js';
import { holdsFor } from '../support/until.js';

let bed: TestBed;

test.before(async () => {
  bed = await startTestBed('agent-recovery');
});

test.after(() => removeTestBed(bed));

const stateOf = async (id: string) => (await bed.client.stateDatasets()).find((d) => d.dataset_id === id);
const mountedOn = async (id: string, node: number) => {
  const st = await stateOf(id);
  return st?.primary === bed.nodes[node]!.uuid && st.path ? st : undefined;
};
const visible = (id: string, node: number) => existsSync(join(bed.nodes[node]!.mountRoot, id, 'f.txt'));

test('an agent killed with -9 mid-move converges after a restart; the data survives', async () => {
  const created = await bed.client.createDataset({ primary: bed.nodes[0]!.uuid });
  const id = created.dataset_id;
  const st = await until('created', () => mountedOn(id, 0));
  writeFileSync(join(st.path!, 'f.txt'), 'survives');
  const moving = bed.client.moveDataset(id, bed.nodes[1]!.uuid);
  await bed.nodes[0]!.proc!.kill9();
  await moving;
  assert.not.ok(visible(id, 0) && visible(id, 1), 'never on both');
  bed.startAgent(0);
  // The restarted agent's tsx start-up alone can take tens of seconds under load.
  await bed.until('moved to node 1 after the restart', () => mountedOn(id, 1), 180_000);
  assert.is(readFileSync(join(bed.nodes[1]!.mountRoot, id, 'f.txt'), 'utf8'), 'survives');
  assert.not.ok(visible(id, 0));
});

test('agents reconnect after a control restart and keep converging', async () => {
  const before = await bed.client.createDataset({ primary: bed.nodes[1]!.uuid });
  await until('created', () => mountedOn(before.dataset_id, 1));
  const code = await bed.control!.stop();
  assert.is(code, 0);
  // While control is down the agents keep what is mounted.
  await holdsFor('the dataset stays mounted while control is down', () => existsSync(join(bed.nodes[1]!.mountRoot, before.dataset_id)), 500);
  await bed.startControl();
  await bed.until('both agents to report again', async () => ((await bed.client.stateNodes()).length === 2 ? true : undefined), 180_000);
  await until('state again shows the existing dataset', () => mountedOn(before.dataset_id, 1));
  const after = await bed.client.createDataset({ primary: bed.nodes[0]!.uuid });
  await bed.until('a new dataset converges after the restart', () => mountedOn(after.dataset_id, 0), 120_000);
});

test('a second agent with the same node certificate is refused with one clear line', async () => {
  const dup = flocker(['agent', '--config', bed.nodes[0]!.config]);
  // The deadline only bounds a hang: start-up through tsx takes tens of seconds under load.
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([dup.exited, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 180_000); })]);
  clearTimeout(timer);
  if (code === 'timeout') await dup.kill9();
  assert.is(code, 1, dup.log());
  assert.match(dup.log(), /flocker: the control service refused this agent: .*already connected/);
  // The first agent is unaffected.
  const ds = await bed.client.createDataset({ primary: bed.nodes[0]!.uuid });
  await until('the original agent still converges', () => mountedOn(ds.dataset_id, 0));
});

test.run();
