import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stampProgress } from '../../src/converge/progress.js';
import { D1, D2 } from './fixtures.js';

test('since holds while the phase holds and restarts when it changes', () => {
  const first = stampProgress([{ datasetId: D1, phase: 'moving-in', reason: 'waiting for node a' }], [], new Map(), 100);
  assert.is(first[0]!.since, 100);
  const same = stampProgress([{ datasetId: D1, phase: 'moving-in', reason: 'waiting for node b' }], first, new Map(), 200);
  assert.is(same[0]!.since, 100);
  assert.is(same[0]!.reason, 'waiting for node b');
  const next = stampProgress([{ datasetId: D1, phase: 'attaching', reason: 'attaching' }], same, new Map(), 300);
  assert.is(next[0]!.since, 300);
});

test('an error shows as phase error with lastError, but never over converged', () => {
  const errors = new Map([[D1, 'mkfs.ext4 failed: bad superblock'], [D2, 'mount failed: busy']]);
  const out = stampProgress([
    { datasetId: D1, phase: 'creating', reason: 'making a filesystem' },
    { datasetId: D2, phase: 'converged', reason: 'mounted' },
  ], [], errors, 5);
  assert.equal(out[0], { datasetId: D1, phase: 'error', reason: 'mkfs.ext4 failed: bad superblock', since: 5, lastError: 'mkfs.ext4 failed: bad superblock' });
  assert.equal(out[1], { datasetId: D2, phase: 'converged', reason: 'mounted', since: 5 });
});

test.run();
