import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IDLE_MS, noop, POLL_MS, type Change } from '../../src/converge/changes.js';
import { DESIRED_KINDS, DISCOVERED_KINDS } from '../../src/converge/dataset-state.js';
import { plan } from '../../src/converge/plan.js';
import { TRANSITIONS } from '../../src/converge/transitions.js';
import { DEFAULT_MAXIMUM_SIZE } from '../../src/model/configuration.js';
import { A, B, clusterWith, D1, D2, dataset, deployment, found, GiB, input, local, mp, NOW, testRows, vol, type PlanRow } from './fixtures.js';

const mine = deployment([dataset(D1, A)]);
const theirs = deployment([dataset(D1, B)]);
const deletedMine = deployment([dataset(D1, A, { deleted: true })]);
const deletedTheirs = deployment([dataset(D1, B, { deleted: true })]);

const attach: Change = { kind: 'attach', datasetId: D1, volumeId: vol(D1) };
const mount: Change = { kind: 'mount', datasetId: D1, volumeId: vol(D1), mountPoint: mp(D1) };
const unmount: Change = { kind: 'unmount', datasetId: D1, mountPoint: mp(D1) };
const detach: Change = { kind: 'detach', datasetId: D1, volumeId: vol(D1) };
const destroy: Change = { kind: 'destroy', datasetId: D1, volumeId: vol(D1) };
const seq = (...changes: Change[]): Change => ({ kind: 'sequence', changes });
const mkfs: Change = { kind: 'create-filesystem', datasetId: D1, volumeId: vol(D1) };
const create = (size: number): Change => ({ kind: 'create-volume', datasetId: D1, size });


// Every (desired, discovered) pair, plus the variants that change the answer.
const ROWS: PlanRow[] = [
  // desired mounted here
  { name: 'mounted × non-existent → create, attach and mount in one pass', in: input({ configuration: mine, local: local() }),
    change: seq(create(10 * GiB), attach, mount), phase: 'creating', reason: /creating a 10 GiB volume/ },
  { name: 'mounted × non-existent (filesystem backend) → create, attach, mkfs if none, mount', in: input({ configuration: mine, local: local(), needsFilesystem: true }),
    change: seq(create(10 * GiB), attach, mkfs, mount), phase: 'creating' },
  { name: 'mounted × non-existent, null size → 75 GiB', in: input({ configuration: deployment([dataset(D1, A, { maximumSize: null })]), local: local() }),
    change: seq(create(DEFAULT_MAXIMUM_SIZE), attach, mount), phase: 'creating', reason: /75 GiB/ },
  { name: 'mounted × non-existent rounds up to the allocation unit', in: input({ configuration: deployment([dataset(D1, A, { maximumSize: 1000 })]), local: local(), allocationUnit: 512 }),
    change: seq(create(1024), attach, mount), phase: 'creating' },
  { name: 'mounted × attached-elsewhere → poll, moving-in', in: input({ configuration: mine, local: local(found.elsewhere(D1)), cluster: clusterWith({ [B]: [D1] }) }),
    change: noop(POLL_MS), phase: 'moving-in', reason: /^waiting for node 5e6f7a8b to release the dataset$/ },
  { name: 'mounted × attached-elsewhere under another node\'s lease → waiting-for-lease',
    in: input({ configuration: deployment([dataset(D1, A)], [{ datasetId: D1, nodeId: B, expiresAt: null }]), local: local(found.elsewhere(D1)) }),
    change: noop(POLL_MS), phase: 'waiting-for-lease', reason: /^node 5e6f7a8b holds a lease; the move waits until it is released$/ },
  { name: 'mounted × attached-elsewhere, expired lease → moving-in',
    in: input({ configuration: deployment([dataset(D1, A)], [{ datasetId: D1, nodeId: B, expiresAt: NOW - 1 }]), local: local(found.elsewhere(D1)) }),
    change: noop(POLL_MS), phase: 'moving-in' },
  { name: 'mounted × attached-elsewhere to the node a forced move fenced → take it over: detach there, attach, mount',
    in: input({ configuration: deployment([dataset(D1, A, { fence: { node: B, era: 'e', epoch: 1 } })]), local: local(found.elsewhere(D1)) }),
    change: seq(detach, attach, mount), phase: 'moving-in', reason: /^taking the volume over from fenced node 5e6f7a8b$/ },
  { name: 'mounted × attached-elsewhere to a fenced node, loopback → detach there, attach (mkfs and mount follow)',
    in: input({ configuration: deployment([dataset(D1, A, { fence: { node: B, era: 'e', epoch: 1 } })]), local: local(found.elsewhere(D1)), needsFilesystem: true }),
    change: seq(detach, attach), phase: 'moving-in' },
  { name: 'mounted × attached-elsewhere to a fenced node that holds a lease → wait for the lease',
    in: input({ configuration: deployment([dataset(D1, A, { fence: { node: B, era: 'e', epoch: 1 } })], [{ datasetId: D1, nodeId: B, expiresAt: null }]), local: local(found.elsewhere(D1)) }),
    change: noop(POLL_MS), phase: 'waiting-for-lease' },
  { name: 'mounted × attached-elsewhere to another node than the fenced one → wait',
    in: input({ configuration: deployment([dataset(D1, A, { fence: { node: B, era: 'e', epoch: 1 } })]), local: local(found.elsewhere(D1, 'someone-else')) }),
    change: noop(POLL_MS), phase: 'moving-in' },
  { name: 'mounted × non-manifest (no filesystem step) → attach then mount', in: input({ configuration: mine, local: local(found.nonManifest(D1)) }),
    change: seq(attach, mount), phase: 'attaching' },
  { name: 'mounted × non-manifest (filesystem backend) → attach, mkfs if none, mount', in: input({ configuration: mine, local: local(found.nonManifest(D1)), needsFilesystem: true }),
    change: seq(attach, mkfs, mount), phase: 'attaching' },
  { name: 'mounted × attached-no-filesystem → mkfs then mount', in: input({ configuration: mine, local: local(found.noFs(D1)), needsFilesystem: true }),
    change: seq({ kind: 'create-filesystem', datasetId: D1, volumeId: vol(D1) }, mount), phase: 'creating', reason: /filesystem/ },
  { name: 'mounted × attached → mount', in: input({ configuration: mine, local: local(found.attached(D1)) }),
    change: mount, phase: 'mounting', reason: new RegExp(`mounting at ${mp(D1)}`) },
  { name: 'mounted × mounted → converged', in: input({ configuration: mine, local: local(found.mounted(D1)) }),
    change: noop(IDLE_MS), phase: 'converged', reason: new RegExp(`mounted at ${mp(D1)}`) },

  // desired non-manifest (configured on B)
  { name: 'non-manifest × non-existent → nothing', in: input({ configuration: theirs, local: local() }), change: noop(IDLE_MS) },
  { name: 'non-manifest × attached-elsewhere → nothing', in: input({ configuration: theirs, local: local(found.elsewhere(D1)) }), change: noop(IDLE_MS) },
  { name: 'non-manifest × non-manifest → nothing', in: input({ configuration: theirs, local: local(found.nonManifest(D1)) }), change: noop(IDLE_MS) },
  { name: 'non-manifest × attached-no-filesystem → detach', in: input({ configuration: theirs, local: local(found.noFs(D1)) }),
    change: detach, phase: 'moving-out', reason: /moves to node 5e6f7a8b/ },
  { name: 'non-manifest × attached → detach', in: input({ configuration: theirs, local: local(found.attached(D1)) }), change: detach, phase: 'moving-out' },
  { name: 'non-manifest × mounted → unmount then detach', in: input({ configuration: theirs, local: local(found.mounted(D1)) }),
    change: seq(unmount, detach), phase: 'moving-out', reason: /^unmounting and detaching: the dataset moves to node 5e6f7a8b$/ },
  { name: 'unknown dataset mounted here → let go, never destroy', in: input({ configuration: deployment([]), local: local(found.mounted(D1)) }),
    change: seq(unmount, detach), phase: 'moving-out', reason: /not in the configuration/ },
  { name: 'lease held here keeps a moved dataset mounted',
    in: input({ configuration: deployment([dataset(D1, B)], [{ datasetId: D1, nodeId: A, expiresAt: null }]), local: local(found.mounted(D1)) }),
    change: noop(IDLE_MS), phase: 'waiting-for-lease', reason: /^this node holds a lease; the move to node 5e6f7a8b waits until it is released$/ },
  { name: 'an expiring lease wakes the holder when it runs out',
    in: input({ configuration: deployment([dataset(D1, B)], [{ datasetId: D1, nodeId: A, expiresAt: NOW + 5000 }]), local: local(found.mounted(D1)) }),
    change: noop(5000), phase: 'waiting-for-lease' },
  { name: 'an expired lease no longer holds', in: input({ configuration: deployment([dataset(D1, B)], [{ datasetId: D1, nodeId: A, expiresAt: NOW }]), local: local(found.mounted(D1)) }),
    change: seq(unmount, detach), phase: 'moving-out' },
  { name: 'another node\'s lease does not keep it here', in: input({ configuration: deployment([dataset(D1, B)], [{ datasetId: D1, nodeId: B, expiresAt: null }]), local: local(found.mounted(D1)) }),
    change: seq(unmount, detach), phase: 'moving-out' },

  // desired deleted
  { name: 'deleted × non-existent → nothing', in: input({ configuration: deletedMine, local: local() }), change: noop(IDLE_MS) },
  { name: 'deleted × attached-elsewhere, primary here → wait for the holder', in: input({ configuration: deletedMine, local: local(found.elsewhere(D1)) }),
    change: noop(POLL_MS), phase: 'deleting', reason: /waiting for node 5e6f7a8b/ },
  { name: 'deleted × attached-elsewhere, primary elsewhere → nothing', in: input({ configuration: deletedTheirs, local: local(found.elsewhere(D1)) }), change: noop(IDLE_MS) },
  { name: 'deleted × non-manifest, primary here → destroy', in: input({ configuration: deletedMine, local: local(found.nonManifest(D1)) }),
    change: destroy, phase: 'deleting', reason: /destroying/ },
  { name: 'deleted × non-manifest, primary elsewhere → nothing (never destroyed by a bystander)', in: input({ configuration: deletedTheirs, local: local(found.nonManifest(D1)) }), change: noop(IDLE_MS) },
  { name: 'deleted × attached-no-filesystem, primary here → detach, destroy', in: input({ configuration: deletedMine, local: local(found.noFs(D1)) }),
    change: seq(detach, destroy), phase: 'deleting' },
  { name: 'deleted × attached, primary elsewhere → detach only', in: input({ configuration: deletedTheirs, local: local(found.attached(D1)) }), change: detach, phase: 'deleting' },
  { name: 'deleted × attached, primary here → detach, destroy', in: input({ configuration: deletedMine, local: local(found.attached(D1)) }), change: seq(detach, destroy), phase: 'deleting' },
  { name: 'deleted × mounted, primary here → unmount, detach, destroy', in: input({ configuration: deletedMine, local: local(found.mounted(D1)) }),
    change: seq(unmount, detach, destroy), phase: 'deleting' },
  { name: 'deleted × mounted on the holder that is not primary → unmount, detach', in: input({ configuration: deletedTheirs, local: local(found.mounted(D1)) }),
    change: seq(unmount, detach), phase: 'deleting' },
  { name: 'a lease held here postpones deletion',
    in: input({ configuration: deployment([dataset(D1, A, { deleted: true })], [{ datasetId: D1, nodeId: A, expiresAt: null }]), local: local(found.mounted(D1)) }),
    change: noop(IDLE_MS), phase: 'waiting-for-lease', reason: /the deletion waits until it is released/ },
];

testRows(ROWS);

test('the table covers every desired × discovered pair at runtime too', () => {
  for (const d of DESIRED_KINDS) {
    const row = TRANSITIONS[d] as Record<string, unknown>;
    assert.equal(Object.keys(row).sort(), [...DISCOVERED_KINDS].sort(), d);
    for (const s of DISCOVERED_KINDS) assert.type(row[s], 'function', `${d} × ${s}`);
  }
  assert.equal(Object.keys(TRANSITIONS).sort(), [...DESIRED_KINDS].sort());
});

test('datasets are planned independently, in parallel, sorted by id', () => {
  const p = plan(input({ configuration: deployment([dataset(D2, A), dataset(D1, A)]), local: local(found.attached(D2)) }));
  assert.equal(p.change, {
    kind: 'parallel',
    changes: [
      seq(create(10 * GiB), attach, mount),
      { kind: 'mount', datasetId: D2, volumeId: vol(D2), mountPoint: mp(D2) },
    ],
  });
  assert.equal(p.progress.map((x) => x.datasetId), [D1, D2]);
});

test('all-noop folds to the soonest wake-up', () => {
  const p = plan(input({ configuration: deployment([dataset(D1, A), dataset(D2, A)]), local: local(found.mounted(D1), found.elsewhere(D2)) }));
  assert.equal(p.change, noop(POLL_MS));
});

test('a stray exposure is removed before anything else happens to the dataset', () => {
  const l = { datasets: new Map([[D1, found.nonManifest(D1)]]), strayMounts: [{ datasetId: D1, mountPoint: mp(D1) }] };
  const p = plan(input({ configuration: mine, local: l }));
  assert.equal(p.change, seq(unmount, attach, mount));
});

test('a stray exposure of a dataset held elsewhere is removed', () => {
  const l = { datasets: new Map([[D1, found.elsewhere(D1)]]), strayMounts: [{ datasetId: D1, mountPoint: mp(D1) }] };
  assert.equal(plan(input({ configuration: theirs, local: l })).change, unmount);
});

test('move hand-off, old node: lets go in one step; new node: waits, then takes it', () => {
  const moved = deployment([dataset(D1, B)]);
  // Old node A, still holding it.
  assert.equal(plan(input({ nodeId: A, configuration: moved, local: local(found.mounted(D1)) })).change, seq(unmount, detach));
  // New node B, while A still holds it: wait.
  const waiting = plan(input({ nodeId: B, configuration: moved, local: local(found.elsewhere(D1, A)), cluster: clusterWith({ [A]: [D1] }) }));
  assert.equal(waiting.change, noop(POLL_MS));
  assert.match(waiting.progress[0]!.reason, /waiting for node 1a2b3c4d to release the dataset/);
  // New node B once A has let go.
  const taking = plan(input({ nodeId: B, configuration: moved, local: local(found.nonManifest(D1)) }));
  assert.equal(taking.change, { kind: 'sequence', changes: [{ ...attach }, { ...mount }] });
  // Old node A afterwards: nothing.
  assert.equal(plan(input({ nodeId: A, configuration: moved, local: local(found.elsewhere(D1, B)) })).change, noop(IDLE_MS));
});

/** Freeze an input all the way down, so a planner that wrote to it would throw. */
function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of v instanceof Map ? [...v.values()] : Object.values(v)) deepFreeze(x);
  }
  return v;
}

test('the planner does no I/O: with clocks, randomness and timers trapped and a frozen input, the plan comes back at once', () => {
  const i = deepFreeze(input({ configuration: mine, local: local(found.attached(D1)) }));
  // As Flocker's UnusableAPI: anything the planner might reach for instead of its input throws.
  const traps: [object, string][] = [
    [Date, 'now'], [Math, 'random'], [performance, 'now'], [process, 'hrtime'],
    [globalThis, 'setTimeout'], [globalThis, 'setImmediate'], [globalThis, 'queueMicrotask'], [globalThis, 'fetch'],
  ];
  const saved = traps.map(([o, k]) => (o as Record<string, unknown>)[k]);
  const used: string[] = [];
  traps.forEach(([o, k]) => {
    (o as Record<string, unknown>)[k] = () => {
      used.push(k);
      throw new Error(`the planner called ${k}`);
    };
  });
  let out: ReturnType<typeof plan>;
  try {
    out = plan(i);
  } finally {
    traps.forEach(([o, k], n) => { (o as Record<string, unknown>)[k] = saved[n]; });
  }
  assert.equal(used, []);
  assert.not.instance(out, Promise, 'synchronous: nothing to wait for');
  assert.equal(out.change, mount, 'the plan itself, not just any answer');
  assert.equal(plan(i), out, 'and the same input gives the same plan');
});

test.run();
