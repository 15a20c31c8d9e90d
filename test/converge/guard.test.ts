// The guard in front of plan(), as a table: what a configuration may make this node do
// destructively, what it reports instead, and which store mark it then remembers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IDLE_MS, noop, type Change } from '../../src/converge/changes.js';
import { guard, type GuardInput, type StoreMark } from '../../src/converge/guard.js';
import { plan } from '../../src/converge/plan.js';
import type { Deployment } from '../../src/model/configuration.js';
import type { LocalState } from '../../src/converge/dataset-state.js';
import { A, B, D1, D2, dataset, deployment, found, GiB, input, local, mp, vol } from './fixtures.js';

const ERA = 'era-1';
const S1: StoreMark = { identity: 'aaaaaaaa-store-one', generation: 10 };
const S1_NEWER: StoreMark = { identity: S1.identity, generation: 12 };
const S1_OLDER: StoreMark = { identity: S1.identity, generation: 4 };
const S2: StoreMark = { identity: 'bbbbbbbb-store-two', generation: 3 };

const unmount: Change = { kind: 'unmount', datasetId: D1, mountPoint: mp(D1) };
const detach: Change = { kind: 'detach', datasetId: D1, volumeId: vol(D1) };
const destroy: Change = { kind: 'destroy', datasetId: D1, volumeId: vol(D1) };
const seq = (...changes: Change[]): Change => ({ kind: 'sequence', changes });
const createD2: Change = seq(
  { kind: 'create-volume', datasetId: D2, size: 10 * GiB },
  { kind: 'attach', datasetId: D2, volumeId: vol(D2) },
  { kind: 'mount', datasetId: D2, volumeId: vol(D2), mountPoint: mp(D2) },
);

function run(configuration: Deployment, l: LocalState, over: Partial<GuardInput> = {}) {
  const p = plan(input({ configuration, local: l }));
  return guard({ nodeId: A, era: ERA, configuration, local: l, plan: p, ...over });
}

interface Row {
  readonly name: string;
  readonly configuration: Deployment;
  readonly local: LocalState;
  readonly store?: StoreMark;
  readonly actedOn?: StoreMark;
  readonly change: Change;
  readonly phases: Record<string, string>;
  readonly reason?: RegExp;
  readonly record?: StoreMark;
  readonly fenced?: boolean;
}

const movedAway = deployment([dataset(D1, B)]);
const here = deployment([dataset(D1, A)]);
const fence = { node: A, era: ERA, epoch: 1 };

const ROWS: Row[] = [
  { name: 'no marks at all (older control): a move away runs', configuration: movedAway, local: local(found.mounted(D1)),
    change: seq(unmount, detach), phases: { [D1]: 'moving-out' } },
  { name: 'the first mark is trusted and remembered', configuration: movedAway, local: local(found.mounted(D1)), store: S1,
    change: seq(unmount, detach), phases: { [D1]: 'moving-out' }, record: S1 },
  { name: 'same store, newer: runs, remembered', configuration: movedAway, local: local(found.mounted(D1)), store: S1_NEWER, actedOn: S1,
    change: seq(unmount, detach), phases: { [D1]: 'moving-out' }, record: S1_NEWER },
  { name: 'same mark again: runs, nothing new to remember', configuration: movedAway, local: local(found.mounted(D1)), store: S1, actedOn: S1,
    change: seq(unmount, detach), phases: { [D1]: 'moving-out' } },
  { name: 'another store: a move away is held, error says adopt', configuration: movedAway, local: local(found.mounted(D1)), store: S2, actedOn: S1,
    change: noop(IDLE_MS), phases: { [D1]: 'error' }, reason: /another store \(identity bbbbbbbb\) than the one this node acted on \(aaaaaaaa\).*flocker adopt/ },
  { name: 'another store asking nothing destructive is adopted as the new mark', configuration: here, local: local(found.mounted(D1)), store: S2, actedOn: S1,
    change: noop(IDLE_MS), phases: { [D1]: 'converged' }, record: S2 },
  { name: 'an older generation (restored backup): a move away is held', configuration: movedAway, local: local(found.attached(D1)), store: S1_OLDER, actedOn: S1,
    change: noop(IDLE_MS), phases: { [D1]: 'error' }, reason: /generation 4\) is older than one this node acted on \(generation 10\)/ },
  { name: 'an older generation: a deletion is not carried out', configuration: deployment([dataset(D1, A, { deleted: true })]), local: local(found.nonManifest(D1)),
    store: S1_OLDER, actedOn: S1, change: noop(IDLE_MS), phases: { [D1]: 'error' }, reason: /older/ },
  { name: 'a trusted deletion is carried out', configuration: deployment([dataset(D1, A, { deleted: true })]), local: local(found.nonManifest(D1)),
    store: S1_NEWER, actedOn: S1, change: destroy, phases: { [D1]: 'deleting' }, record: S1_NEWER },
  { name: 'a row missing from a trusted configuration: held, and the mark still moves on', configuration: deployment([]), local: local(found.mounted(D1)),
    store: S1_NEWER, actedOn: S1, change: noop(IDLE_MS), phases: { [D1]: 'error' }, reason: /has no dataset d1d1d1d1-.* although this node holds it.*flocker adopt/, record: S1_NEWER },
  { name: 'a row missing, no marks at all: held all the same', configuration: deployment([]), local: local(found.attached(D1)),
    change: noop(IDLE_MS), phases: { [D1]: 'error' }, reason: /has no dataset/ },
  { name: 'an empty store (new identity) holds what is mounted and does not adopt the mark', configuration: deployment([]), local: local(found.mounted(D1)),
    store: S2, actedOn: S1, change: noop(IDLE_MS), phases: { [D1]: 'error' } },
  { name: 'a row missing for a volume nobody holds: nothing to do, nothing reported', configuration: deployment([]), local: local(found.nonManifest(D1)),
    store: S1, actedOn: S1, change: noop(IDLE_MS), phases: {} },
  { name: 'distrusted, but creating a new dataset is not destructive and goes ahead', configuration: deployment([dataset(D1, B), dataset(D2, A)]),
    local: local(found.mounted(D1)), store: S2, actedOn: S1, change: createD2, phases: { [D1]: 'error', [D2]: 'creating' } },
  { name: 'fenced: lets go of what is configured elsewhere, and nothing else', configuration: deployment([dataset(D1, B, { fence }), dataset(D2, A)]),
    local: local(found.mounted(D1)), store: S1, actedOn: S1, change: seq(unmount, detach), phases: { [D1]: 'moving-out' },
    reason: /^fenced: a forced move gave this dataset to node 5e6f7a8b; letting go of it before anything else/, fenced: true },
  { name: 'a fence against another era (the node rebooted since) is an ordinary move', configuration: deployment([dataset(D1, B, { fence: { ...fence, era: 'old' } }), dataset(D2, A)]),
    local: local(found.mounted(D1)), store: S1, actedOn: S1, change: { kind: 'parallel', changes: [seq(unmount, detach), createD2] },
    phases: { [D1]: 'moving-out', [D2]: 'creating' } },
  { name: 'a fence in a distrusted configuration is not obeyed', configuration: deployment([dataset(D1, B, { fence })]),
    local: local(found.mounted(D1)), store: S2, actedOn: S1, change: noop(IDLE_MS), phases: { [D1]: 'error' } },
  { name: 'once let go, a fenced node works normally', configuration: deployment([dataset(D1, B, { fence }), dataset(D2, A)]),
    local: local(found.elsewhere(D1)), store: S1, actedOn: S1, change: createD2, phases: { [D2]: 'creating' } },
];

for (const row of ROWS) {
  test(row.name, () => {
    const g = run(row.configuration, row.local, { store: row.store, actedOn: row.actedOn });
    assert.equal(g.plan.change, row.change);
    assert.equal(Object.fromEntries(g.plan.progress.map((p) => [p.datasetId, p.phase])), row.phases);
    if (row.reason) assert.ok(g.plan.progress.some((p) => row.reason!.test(p.reason)), g.plan.progress.map((p) => p.reason).join(' | '));
    assert.equal(g.record, row.record);
    assert.is(g.fenced, row.fenced ?? false);
  });
}

test('a stray exposure is taken down even under a distrusted configuration', () => {
  const l: LocalState = { datasets: new Map(), strayMounts: [{ datasetId: D2, mountPoint: mp(D2) }] };
  const g = run(deployment([]), l, { store: S2, actedOn: S1 });
  assert.equal(g.plan.change, { kind: 'unmount', datasetId: D2, mountPoint: mp(D2) });
});

test('a held step ends its sequence: nothing after it runs', () => {
  // Deleted here, held by distrust: unmount, detach and destroy all go, not just the first.
  const g = run(deployment([dataset(D1, A, { deleted: true })]), local(found.mounted(D1)), { store: S1_OLDER, actedOn: S1 });
  assert.equal(g.plan.change, noop(IDLE_MS));
});

test.run();
