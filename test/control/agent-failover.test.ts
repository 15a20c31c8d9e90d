// Agents fail over between control replicas: two replicas over a real 3-member etcd, two real
// agents (directory backend, bind mounts) whose agent.yml lists [A, B]. Replica A is killed
// with -9 (then, back again, B is frozen); the agents must reconnect to the other, keep every
// mount and file the whole time, and carry out what is then asked through it. (How long the
// fail-over takes is test/bench/failover.ts's.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountAt } from '../../src/sys/mounts.js';
import { makeFailoverBed, type FailoverBed, type Replica } from '../support/failover-bed.js';
import { until } from '../support/until.js';

let bed: FailoverBed;

test.before(async () => {
  bed = await makeFailoverBed({ replicas: 2, order: [[0, 1], [0, 1]] });
  await Promise.all([bed.startReplica(0), bed.startReplica(1)]);
  bed.startAgent(0);
  bed.startAgent(1);
});

test.after(async () => {
  await bed?.cleanup();
});

/** `until`, with every process's log when it times out. */
async function waitFor<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000): Promise<T> {
  try {
    return await until(what, f, ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${bed.logs()}`);
  }
}

async function mountedOn(via: Replica, id: string, agent: number): Promise<string | undefined> {
  const row = (await via.client.stateDatasets()).find((d) => d.dataset_id === id && d.primary === bed.agents[agent]!.uuid);
  return row?.path && (await mountAt(realpathSync(row.path))) ? row.path : undefined;
}

/**
 * Check `ok` every few ms in the background until stopped: for "this stays true throughout a
 * span whose end is an event", which holdsFor's fixed window cannot express.
 */
function watch(ok: () => Promise<string | undefined>): { stop(): Promise<{ checks: number; broken?: string }> } {
  let running = true;
  let checks = 0;
  let broken: string | undefined;
  const done = (async () => {
    while (running && broken === undefined) {
      broken = await ok().catch((e: unknown) => `check failed: ${String(e)}`);
      checks++;
      await new Promise((r) => setTimeout(r, 10)); // the polling interval, not a wait for anything
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { checks, ...(broken !== undefined ? { broken } : {}) };
    },
  };
}

/**
 * With both agents on `from`, each holding a mounted dataset with a file: `cut` takes `from`
 * away; both agents must say hello to `to`, keep every mount and file throughout, and carry
 * out datasets created through `to`.
 */
async function failsOver(from: Replica, to: Replica, cut: () => Promise<void>): Promise<void> {
  const held = await Promise.all(bed.agents.map(async (x, i) => {
    const { dataset_id: id } = await from.client.createDataset({ primary: x.uuid });
    const path = realpathSync(await waitFor(`dataset ${id} mounted on agent ${i}`, () => mountedOn(from, id, i)));
    writeFileSync(join(path, 'f.txt'), `kept by ${i}`);
    return { id, path, text: `kept by ${i}` };
  }));
  const pids = bed.agents.map((x) => x.proc!.child.pid);

  const watcher = watch(async () => {
    for (const h of held) {
      if (!(await mountAt(h.path))) return `${h.path} was unmounted`;
      if (readFileSync(join(h.path, 'f.txt'), 'utf8') !== h.text) return `${h.path}/f.txt changed`;
    }
    const gone = bed.agents.find((x) => x.proc!.child.exitCode !== null || x.proc!.child.signalCode !== null);
    return gone ? `agent ${gone.uuid} exited:\n${gone.proc!.log()}` : undefined;
  });
  try {
    await cut();
    const cutAt = Date.now();
    // `from` says nothing more: a hello newer than the cut shown by `to` is the agent talking to `to`.
    await waitFor(`both agents to reconnect to ${to.name}`, () => bed.agents.every((x) => to.feed?.heardSince(x.uuid, cutAt) !== undefined));
    for (const x of bed.agents) assert.match(x.proc!.log(), `:${to.agentPort}/`, `the agent says it uses ${to.name}`);

    // A change made through `to` is carried out, by both agents.
    await Promise.all(bed.agents.map(async (x, i) => {
      const { dataset_id: id } = await to.client.createDataset({ primary: x.uuid });
      await waitFor(`dataset ${id}, created through ${to.name}, mounted on agent ${i}`, () => mountedOn(to, id, i));
    }));
  } finally {
    const { checks, broken } = await watcher.stop();
    assert.is(broken, undefined, broken);
    assert.ok(checks > 10, `the mounts were checked throughout (${checks} checks)`);
  }
  assert.equal(bed.agents.map((x) => x.proc!.child.pid), pids, 'the same agent processes, never restarted');
  for (const h of held) assert.is(readFileSync(join(h.path, 'f.txt'), 'utf8'), h.text);
}

test('agents whose replica is killed with -9 fail over to the other, keep their mounts throughout, and obey it', async () => {
  const [a, b] = bed.replicas as [Replica, Replica];
  await waitFor('both agents to connect to A', () => bed.agents.every((x) => a.feed?.heardSince(x.uuid, 0) !== undefined), 120_000);
  for (const x of bed.agents) assert.match(x.proc!.log(), `:${a.agentPort}/`, 'the agent started on A, the first it lists');
  await failsOver(a, b, () => a.proc!.kill9());
});

test('agents whose replica falls silent (a dead machine sends no FIN: SIGSTOP) fail over too', async () => {
  const [a, b] = bed.replicas as [Replica, Replica];
  await bed.startReplica(0);
  await failsOver(b, a, async () => {
    b.proc!.child.kill('SIGSTOP');
  });
});

test.run();
