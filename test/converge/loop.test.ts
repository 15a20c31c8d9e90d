import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { actionsOf, IDLE_MS, POLL_MS, type Change } from '../../src/converge/changes.js';
import type { LocalState } from '../../src/converge/dataset-state.js';
import type { ExecResult } from '../../src/converge/execute.js';
import { ConvergenceLoop, type ActedOnMemory, type LoopInputs } from '../../src/converge/loop.js';
import type { StoreMark } from '../../src/converge/guard.js';
import { silentLogger } from '../../src/log.js';
import type { NodeReport } from '../../src/model/cluster-state.js';
import { A, B, clusterWith, D1, dataset, deployment, found, local, ROOT, vol } from './fixtures.js';
import { ManualClock, settle } from './manual-clock.js';

interface Harness {
  clock: ManualClock;
  loop: ConvergenceLoop;
  reports: NodeReport[];
  executed: Change[];
  state: { local: LocalState; inputs: LoopInputs | undefined; fail: string | undefined; discoverFails: boolean; noEffect: boolean; discoveries: number; gate?: Promise<void> };
  stop(): Promise<void>;
}

/** A loop over a fake node whose "storage" is a variable: execute moves it one state along. */
function harness(inputs: LoopInputs | undefined, start: LocalState = local(), discoverFails = false, actedOn?: ActedOnMemory): Harness {
  const clock = new ManualClock();
  const reports: NodeReport[] = [];
  const executed: Change[] = [];
  const state: Harness['state'] = { local: start, inputs, fail: undefined, discoverFails, noEffect: false, discoveries: 0 };
  const loop = new ConvergenceLoop({
    nodeId: A, mountRoot: ROOT, allocationUnit: 1, needsFilesystem: false, volumeIdFor: vol,
    discover: async () => {
      state.discoveries++;
      await state.gate;
      if (state.discoverFails) throw new Error('pool unreachable');
      return state.local;
    },
    report: (r) => reports.push(r),
    inputs: () => state.inputs,
    execute: async (c): Promise<ExecResult> => {
      executed.push(c);
      if (state.fail) return { succeeded: new Set(), failures: [{ datasetId: D1, action: 'mount', message: state.fail }] };
      if (state.noEffect) return { succeeded: new Set([D1]), failures: [] };
      for (const a of actionsOf(c)) {
        if (a.kind === 'create-volume') state.local = local(found.nonManifest(D1));
        else if (a.kind === 'attach') state.local = local(found.attached(D1));
        else if (a.kind === 'mount') state.local = local(found.mounted(D1));
      }
      return { succeeded: new Set([D1]), failures: [] };
    },
    clock, log: silentLogger(), ...(actedOn ? { actedOn } : {}),
  });
  const ac = new AbortController();
  const done = loop.run(ac.signal);
  return {
    clock, loop, reports, executed, state,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

const wantOnA: LoopInputs = { configuration: deployment([dataset(D1, A)]), cluster: { nodes: {} }, now: 0 };

test('converges without sleeping after a step that advances, then sleeps long', async () => {
  const h = harness(wantOnA, local(found.nonManifest(D1)));
  await settle();
  // A step that succeeds and advances is followed by the next pass at once; then the long sleep.
  assert.equal(actionsOf(h.executed[0]!).map((a) => a.kind), ['attach', 'mount']);
  assert.is(h.executed.length, 1);
  assert.equal(h.clock.requested, [IDLE_MS]);
  const last = h.reports.at(-1)!;
  assert.is(last.manifestations.length, 1);
  assert.is(last.progress[0]!.phase, 'converged');
  await h.stop();
});

test('a step that advanced hands its reading of the world to the next pass instead of reading it again', async () => {
  const h = harness(wantOnA);
  await settle();
  assert.equal(actionsOf(h.executed[0]!).map((a) => a.kind), ['create-volume', 'attach', 'mount'], 'created and mounted in one pass');
  assert.is(h.executed.length, 1);
  // The first pass reads, then reads again after its work; the pass after it starts from that.
  assert.is(h.state.discoveries, 2);
  // A pass after a sleep reads afresh: something may have changed while it slept.
  await h.clock.advance(IDLE_MS);
  assert.is(h.state.discoveries, 3);
  await h.stop();
});

/** An acted-on memory whose durable write finishes only when the test says so. */
function slowMemory(): ActedOnMemory & { writes: StoreMark[]; finish(): void } {
  let mark: StoreMark | undefined;
  const waiting: (() => void)[] = [];
  const writes: StoreMark[] = [];
  return {
    writes,
    get: () => mark,
    record: (m) => new Promise<void>((resolve) => {
      writes.push(m);
      waiting.push(() => {
        mark = m;
        resolve();
      });
    }),
    finish: () => {
      for (const w of waiting.splice(0)) w();
    },
  };
}

const store: StoreMark = { identity: 'store-1', generation: 7 };

test('work that only adds runs while the acted-on mark is being written', async () => {
  const memory = slowMemory();
  const h = harness({ ...wantOnA, store }, local(), false, memory);
  await settle();
  assert.equal(memory.writes, [store]);
  assert.is(h.executed.length, 1, 'the create did not wait for the write');
  assert.equal(h.state.local, local(found.mounted(D1)));
  assert.equal(h.reports.at(-1)!.manifestations.map((m) => m.datasetId), [D1], 'nor did its report');
  assert.is(h.state.discoveries, 2, 'nor the reading after it');
  memory.finish();
  await settle();
  assert.equal(h.clock.requested, [IDLE_MS], 'converged once the write was done');
  await h.stop();
});

test('the acted-on write of a trusted new configuration starts before the discovery it does not depend on', async () => {
  const memory = slowMemory();
  let open = (): void => undefined;
  const h = harness(undefined, local(found.mounted(D1)), false, memory);
  await settle();
  h.state.gate = new Promise<void>((r) => { open = r; });
  h.state.inputs = { configuration: deployment([dataset(D1, B)]), cluster: { nodes: {} }, now: 0, store };
  h.loop.onInputs();
  await h.clock.advance(IDLE_MS);
  assert.equal(memory.writes, [store], 'written while the discovery is still running');
  assert.equal(h.executed, []);
  open();
  memory.finish();
  await settle();
  assert.ok(h.executed.length > 0);
  assert.equal(memory.writes, [store], 'one write, shared with the release');
  await h.stop();
});

test('a newer acted-on mark is written only after the write before it has finished', async () => {
  const memory = slowMemory();
  // Discovery fails, so the pass ends (and backs off) while its early write is still under way.
  const h = harness({ ...wantOnA, store }, local(), true, memory);
  await settle();
  assert.equal(memory.writes, [store]);
  const newer = { ...store, generation: store.generation + 1 };
  h.state.inputs = { ...wantOnA, store: newer };
  await h.clock.advance(100);
  assert.equal(memory.writes, [store], 'the newer write waits: two writes of one file must never race');
  memory.finish();
  await settle();
  assert.equal(memory.writes, [store, newer]);
  memory.finish();
  await h.stop();
});

test('letting go waits until the acted-on mark is durable', async () => {
  const memory = slowMemory();
  const h = harness({ configuration: deployment([dataset(D1, B)]), cluster: { nodes: {} }, now: 0, store }, local(found.mounted(D1)), false, memory);
  await settle();
  assert.equal(memory.writes, [store]);
  assert.equal(h.executed, [], 'nothing was let go of before the mark was written');
  memory.finish();
  await settle();
  assert.ok(h.executed.length > 0, 'after the write, the release runs');
  await h.stop();
});

test('failures back off 100 ms ×4 capped at 10 s, and convergence resets the backoff', async () => {
  const h = harness(wantOnA, local(found.attached(D1)));
  h.state.fail = 'mount failed: no such device';
  await settle();
  for (const ms of [100, 400, 1600, 6400, 10_000, 10_000]) await h.clock.advance(ms);
  assert.equal(h.clock.requested, [100, 400, 1600, 6400, 10_000, 10_000, 10_000]);
  h.state.fail = undefined;
  await h.clock.advance(10_000); // mount succeeds, and the next pass finds it converged at once
  assert.equal(h.clock.requested.slice(-2), [10_000, IDLE_MS]);
  h.state.local = local(found.attached(D1)); // someone unmounted it
  h.state.fail = 'mount failed: again';
  await h.clock.advance(IDLE_MS);
  assert.is(h.clock.requested.at(-1), 100);
  await h.stop();
});

test('work that succeeds without advancing backs off like a failure', async () => {
  const h = harness(wantOnA, local(found.attached(D1)));
  // The mount "succeeds" but nothing changes (say, something unmounts it at once).
  h.state.noEffect = true;
  await settle();
  await h.clock.advance(100);
  await h.clock.advance(400);
  assert.equal(h.clock.requested.slice(0, 3), [100, 400, 1600]);
  await h.stop();
});

test('an action error is reported as phase error with lastError until the next success', async () => {
  const h = harness(wantOnA, local(found.attached(D1)));
  h.state.fail = 'mount failed: mount: /flocker/x: permission denied';
  await settle();
  const failing = h.reports.at(-1)!.progress[0]!;
  assert.is(failing.phase, 'error');
  assert.is(failing.lastError, 'mount failed: mount: /flocker/x: permission denied');
  assert.match(failing.reason, /permission denied/);
  await h.clock.advance(100);
  assert.is(h.reports.at(-1)!.progress[0]!.phase, 'error', 'kept while still failing');
  h.state.fail = undefined;
  await h.clock.advance(400);
  const ok = h.reports.at(-1)!.progress[0]!;
  assert.is(ok.phase, 'converged');
  assert.is(ok.lastError, undefined);
  await h.stop();
});

test('a failing discovery backs off and the loop survives', async () => {
  const h = harness(wantOnA, local(), true);
  await settle();
  await h.clock.advance(100);
  assert.equal(h.clock.requested, [100, 400]);
  assert.equal(h.executed, []);
  h.state.discoverFails = false;
  await h.clock.advance(400);
  assert.equal(actionsOf(h.executed[0]!).map((a) => a.kind), ['create-volume', 'attach', 'mount']);
  await h.stop();
});

test('without a configuration from control nothing is changed, only reported', async () => {
  const h = harness(undefined, local(found.mounted(D1)));
  await settle();
  assert.equal(h.executed, []);
  assert.equal(h.clock.requested, [IDLE_MS]);
  assert.is(h.reports.at(-1)!.manifestations.length, 1);
  await h.stop();
});

test('a push that brings work wakes the loop at once', async () => {
  const h = harness({ configuration: deployment([]), cluster: { nodes: {} }, now: 0 });
  await settle();
  assert.equal(h.clock.requested, [IDLE_MS]);
  h.state.inputs = wantOnA;
  h.loop.onInputs();
  await settle();
  assert.equal(actionsOf(h.executed[0]!).map((a) => a.kind), ['create-volume', 'attach', 'mount']);
  await h.stop();
});

test('a push that brings only work that adds acts on the reading it has; one that lets go reads afresh first', async () => {
  const h = harness({ configuration: deployment([]), cluster: { nodes: {} }, now: 0 });
  await settle();
  assert.is(h.state.discoveries, 1);
  h.state.inputs = wantOnA;
  h.loop.onInputs();
  await settle();
  assert.equal(actionsOf(h.executed[0]!).map((a) => a.kind), ['create-volume', 'attach', 'mount']);
  assert.is(h.state.discoveries, 2, 'read once, after the work');
  h.state.inputs = { configuration: deployment([dataset(D1, B)]), cluster: { nodes: {} }, now: 0 };
  h.loop.onInputs();
  await settle();
  assert.equal(actionsOf(h.executed[1]!).map((a) => a.kind), ['unmount', 'detach']);
  assert.is(h.state.discoveries, 4, 'read before letting go, and after');
  await h.stop();
});

test('a push that moves here a volume another node made since the last reading reads afresh instead of creating it', async () => {
  const h = harness({ configuration: deployment([]), cluster: { nodes: {} }, now: 0 });
  await settle();
  assert.is(h.state.discoveries, 1);
  // B made and mounted D1 meanwhile; now it is to move here. Our reading is from before.
  h.state.local = local(found.elsewhere(D1));
  h.state.inputs = { configuration: deployment([dataset(D1, A)]), cluster: clusterWith({ [B]: [D1] }), now: 0 };
  h.loop.onInputs();
  await settle();
  assert.is(h.state.discoveries, 2, 'read afresh');
  assert.equal(h.executed, [], 'waits for B to let go; creates nothing');
  await h.stop();
});

test('what the work did is reported before the reading that confirms it', async () => {
  const h = harness({ configuration: deployment([]), cluster: { nodes: {} }, now: 0 });
  await settle();
  let open = (): void => undefined;
  h.state.gate = new Promise((r) => { open = r; });
  h.state.inputs = wantOnA;
  h.loop.onInputs();
  await settle();
  assert.equal(actionsOf(h.executed[0]!).map((a) => a.kind), ['create-volume', 'attach', 'mount']);
  assert.is(h.state.discoveries, 2, 'the reading after the work is under way');
  const early = h.reports.at(-1)!;
  assert.equal(early.manifestations.map((m) => [m.datasetId, m.path]), [[D1, `${ROOT}/${D1}`]]);
  assert.equal(early.progress.map((x) => x.phase), ['converged']);
  const sent = h.reports.length;
  open();
  await settle();
  assert.equal(h.reports.at(-1), early, 'the reading confirms it');
  assert.ok(h.reports.length >= sent);
  await h.stop();
});

test('a failed step is reported only from the reading after it', async () => {
  const h = harness({ configuration: deployment([]), cluster: { nodes: {} }, now: 0 });
  await settle();
  h.state.fail = 'mount: EBUSY';
  let open = (): void => undefined;
  h.state.gate = new Promise((r) => { open = r; });
  h.state.inputs = wantOnA;
  h.loop.onInputs();
  await settle();
  assert.is(h.state.discoveries, 2);
  assert.equal(h.reports.at(-1)!.manifestations, [], 'nothing foretold from a failed change');
  open();
  await settle();
  await h.stop();
});

test('a push without work does not wake an idle loop, but updates the report', async () => {
  const h = harness(wantOnA, local(found.mounted(D1)));
  await settle();
  const before = h.reports.length;
  const passes = h.loop.passes;
  // Another node's dataset appears: nothing for us to do.
  h.state.inputs = { ...wantOnA, configuration: deployment([dataset(D1, A), dataset('d3d3d3d3-0000-4000-8000-000000000003' as never, B)]) };
  h.loop.onInputs();
  await settle();
  assert.is(h.loop.passes, passes);
  assert.is(h.reports.length, before + 1);
  await h.stop();
});

test('a node waiting on another is woken by any push (the news it waits for)', async () => {
  const h = harness(wantOnA, local(found.elsewhere(D1)));
  await settle();
  assert.equal(h.clock.requested, [POLL_MS]);
  h.state.local = local(found.nonManifest(D1)); // B let go
  h.loop.onInputs();
  await settle();
  assert.equal(h.executed.map((c) => c.kind), ['sequence']);
  await h.stop();
});

test('a node reporting a volume free in the pool looks again on a push: another node may have taken or destroyed it', async () => {
  // B is D1's primary and A just let D1 go: A sees the volume free, has nothing to do, sleeps long.
  const onB: LoopInputs = { configuration: deployment([dataset(D1, B)]), cluster: { nodes: {} }, now: 0 };
  const h = harness(onB, local(found.nonManifest(D1)));
  await settle();
  assert.equal(h.clock.requested, [IDLE_MS]);
  assert.equal(h.reports.at(-1)?.nonManifest.map((n) => n.datasetId), [D1]);
  // D1 is deleted and B destroys it; the push saying so must not leave A reporting it for a minute.
  h.state.local = local();
  h.state.inputs = { ...onB, configuration: deployment([dataset(D1, B, { deleted: true })]) };
  h.loop.onInputs();
  await settle();
  assert.equal(h.executed, []);
  assert.equal(h.reports.at(-1)?.nonManifest, []);
  await h.stop();
});

test('a push during a pass is not lost', async () => {
  const h = harness({ configuration: deployment([]), cluster: { nodes: {} }, now: 0 });
  // Push arrives before the first pass has slept.
  h.state.inputs = wantOnA;
  h.loop.onInputs();
  await settle();
  assert.ok(h.executed.length >= 1);
  await h.stop();
});

test.run();
