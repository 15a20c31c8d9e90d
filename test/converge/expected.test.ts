import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sequence } from '../../src/converge/changes.js';
import { expectedAfter } from '../../src/converge/expected.js';
import { A, D1, D2, found, local, mp, vol } from './fixtures.js';

// The real backends check every step against what they read back (sim.ts); these are the cases
// those runs never reach.

test('a p2p copy is never foretold: what it leaves depends on the peer', () => {
  const pull = { kind: 'pull', datasetId: D1, from: { nodeId: A, host: '10.0.0.1', port: 4526 }, final: true, mountPoint: mp(D1) } as const;
  assert.is(expectedAfter(local(), pull, vol), undefined);
  assert.is(expectedAfter(local(), sequence([{ kind: 'create-volume', datasetId: D2, size: 1 }, { kind: 'discard', datasetId: D1 }]), vol), undefined);
});

test('a step that does not fit the reading is not foretold', () => {
  assert.is(expectedAfter(local(), { kind: 'mount', datasetId: D1, volumeId: vol(D1), mountPoint: mp(D1) }, vol), undefined);
});

test('unmounting a stray exposure clears it and leaves the datasets as they were', () => {
  const start = { ...local(found.mounted(D2)), strayMounts: [{ datasetId: D1, mountPoint: mp(D1) }] };
  const after = expectedAfter(start, { kind: 'unmount', datasetId: D1, mountPoint: mp(D1) }, vol)!;
  assert.equal(after.strayMounts, []);
  assert.equal([...after.datasets.values()], [found.mounted(D2)]);
});

test.run();
