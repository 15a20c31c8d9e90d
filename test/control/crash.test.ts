// kill -9 at an arbitrary moment under a stream of creates: every acknowledged (201) create is
// present after a restart, and the database opens.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { until } from '../support/until.js';
import { callApi, startControl, type ControlProcess } from './process-harness.js';

let dir: string;
let certs: TestCerts;
const running: ControlProcess[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-crash-'));
  certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
});
test.after(async () => {
  for (const c of running) if (c.child.exitCode === null) await c.kill9();
  rmSync(dir, { recursive: true, force: true });
});

async function hammer(c: ControlProcess, acked: Set<string>, stop: { now: boolean }): Promise<void> {
  const user = certs.users['user']!;
  const worker = async (): Promise<void> => {
    while (!stop.now) {
      try {
        const r = await callApi(c.apiPort, certs, user, 'POST', '/v1/configuration/datasets', { primary: certs.nodes[0]!.uuid, metadata: { name: 'x'.repeat(200) } });
        if (r.status === 201) acked.add((r.json as { dataset_id: string }).dataset_id);
        else throw new Error(`unexpected ${r.status} ${r.text}`);
        if (Math.random() < 0.3) {
          await callApi(c.apiPort, certs, user, 'POST', '/v1/configuration/leases', { dataset_id: [...acked][0], node_uuid: certs.nodes[0]!.uuid, expires: 100 });
        }
      } catch (e) {
        // Requests cut off by the kill are expected; before it, any failure is real.
        if (stop.now) return;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

test('kill -9 mid-write loses no acknowledged create; the database opens after each crash', async () => {
  const data = join(dir, 'data');
  const acked = new Set<string>();
  const t0 = Date.now();
  for (let round = 0; round < 2; round++) {
    const c = await startControl(data, certs.dir);
    running.push(c);
    const stop = { now: false };
    const work = hammer(c, acked, stop);
    const before = acked.size;
    // Kill after a random number of acknowledgements, not after a fixed time: on a loaded
    // machine a second or two can pass before the first create is answered, and a crash with
    // nothing acknowledged tests nothing. Eight workers keep writes in flight at the kill.
    const target = before + 1 + Math.floor(Math.random() * 20);
    await Promise.race([
      until(`round ${round}: ${target - before} creates acknowledged`, () => acked.size >= target, 120_000),
      work.then(() => { throw new Error('the writers stopped before the kill'); }),
    ]);
    stop.now = true;
    await c.kill9();
    await work;
    console.log(`round ${round}: ${acked.size - before} acknowledged, ${Date.now() - t0} ms`);
    assert.ok(existsSync(join(data, 'control.pid')), 'kill -9 leaves a stale pid file behind');
  }
  const c = await startControl(data, certs.dir);
  running.push(c);
  const list = await callApi(c.apiPort, certs, certs.users['user']!, 'GET', '/v1/configuration/datasets');
  assert.is(list.status, 200);
  const present = new Set((list.json as { dataset_id: string }[]).map((d) => d.dataset_id));
  const lost = [...acked].filter((id) => !present.has(id));
  assert.equal(lost, [], `${acked.size} acknowledged creates, all present`);
  assert.is(await c.stop(), 0);
});

test.run();
