import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { advanceHistory, EMPTY_HISTORY } from '../../src/client/history.js';
import { buildViewModel, layoutFor, scrollTop, summarize } from '../../src/ui/view-model.js';
import { D1, D2, D3, N1, N2, N3, sampleSnapshot } from './fake-client.js';

const NOW = Date.parse('2026-01-01T00:00:30.000Z');

test('counts and the summary line say how far the cluster is from converged', () => {
  const vm = buildViewModel(sampleSnapshot(), NOW, EMPTY_HISTORY);
  assert.equal(vm.counts, { total: 3, converged: 1, moving: 1, pending: 0, deleting: 0, error: 1 });
  assert.is(vm.summary, '1/3 converged, 1 moving, 1 error · 3 nodes (2 connected)');
  assert.is(summarize({ total: 14, converged: 12, moving: 1, pending: 0, deleting: 0, error: 2 }, 1), '12/14 converged, 1 moving, 2 errors · 1 node');
});

test('the summary gives the p50 of recent convergence times, from the control service\'s own times', () => {
  const snap = sampleSnapshot();
  const row = snap.convergence.find((r) => r.phase === 'moving-out')!;
  const started = Date.parse(row.since);
  const h1 = advanceHistory(EMPTY_HISTORY, undefined, snap, NOW);
  const done = { ...snap, convergence: snap.convergence.map((r) => (r === row ? { ...r, phase: 'converged' as const, since: new Date(started + 45).toISOString() } : r)) };
  const h2 = advanceHistory(h1, snap, done, NOW + 5000);
  assert.equal(h2.convergence.recent, [45]);
  assert.match(buildViewModel(done, NOW + 5000, h2).summary, / · p50 converge 45 ms \(last 1\)$/);
});

test('dataset rows carry name, size, desired and actual node, phase, reason and a moving marker', () => {
  const vm = buildViewModel(sampleSnapshot(), NOW, EMPTY_HISTORY);
  assert.equal(vm.datasets.map((d) => d.label), ['cache', 'logs', 'web-db']);
  const cache = vm.datasets[0]!;
  assert.is(cache.size, '512M');
  assert.is(cache.desiredShort, '22222222');
  assert.is(cache.actualShort, '11111111');
  assert.is(cache.phase, 'moving-out');
  assert.ok(cache.moving);
  assert.is(cache.sinceMs, NOW - 30_000);
  const logs = vm.datasets[1]!;
  assert.ok(logs.error);
  assert.is(logs.actualShort, '-');
  assert.is(logs.lastError, 'losetup failed: no free loop device');
  assert.is(vm.datasets[2]!.size, '10G');
});

test('nodes show connection, last seen and how many datasets they hold; leases their holder', () => {
  const vm = buildViewModel(sampleSnapshot(), NOW, EMPTY_HISTORY);
  assert.equal(vm.nodes.map((n) => [n.short, n.status, n.datasets]), [
    ['11111111', 'connected', 2], ['22222222', 'connected', 0], ['33333333', 'last seen 30s ago', 0],
  ]);
  assert.equal(vm.leases, [{ datasetId: D1, label: 'web-db', node: '11111111', expires: 'never' }]);
});

test('without convergence rows the phase is derived from state; deleted datasets show only while going away', () => {
  const s = sampleSnapshot();
  s.convergence = [];
  s.configuration.push({ dataset_id: 'dead0000-0000-4000-8000-000000000000', primary: N1, deleted: true, metadata: {} });
  s.configuration[2] = { ...s.configuration[2]!, deleted: true };
  s.state.push({ dataset_id: D3, primary: N3 });
  const vm = buildViewModel(s, NOW, EMPTY_HISTORY);
  assert.equal(vm.datasets.map((d) => [d.label, d.phase, d.moving]), [
    ['cache', 'moving', true], ['logs', 'deleting', false], ['web-db', 'converged', false],
  ]);
  assert.is(vm.counts.total, 2);
  assert.is(vm.counts.deleting, 1);
});

test('the filter matches name, id, node and phase, and keeps the unfiltered count', () => {
  const s = sampleSnapshot();
  assert.equal(buildViewModel(s, NOW, EMPTY_HISTORY, 'WEB').datasets.map((d) => d.label), ['web-db']);
  assert.equal(buildViewModel(s, NOW, EMPTY_HISTORY, 'd2d2').datasets.map((d) => d.label), ['cache']);
  assert.equal(buildViewModel(s, NOW, EMPTY_HISTORY, 'error').datasets.map((d) => d.label), ['logs']);
  assert.is(buildViewModel(s, NOW, EMPTY_HISTORY, 'zzz').datasetCount, 3);
});

test('history: diffing snapshots names moves, disconnects, deletions, errors and leases', () => {
  const a = sampleSnapshot();
  const b = sampleSnapshot();
  b.state[1] = { dataset_id: D2, primary: N2 };
  b.convergence[1] = { ...b.convergence[1]!, phase: 'converged', actual_node: N2, reason: 'mounted' };
  b.nodes[1] = { ...b.nodes[1]!, connected: false };
  b.configuration[0] = { ...b.configuration[0]!, primary: N2 };
  b.configuration[2] = { ...b.configuration[2]!, deleted: true };
  b.leases = [];
  b.configuration.push({ dataset_id: 'eeee0000-0000-4000-8000-000000000000', primary: N3, deleted: false, metadata: {} });
  const h1 = advanceHistory(EMPTY_HISTORY, undefined, a, 1);
  assert.equal(h1.log.map((l) => l.text), ['connected: 3 node(s), 3 dataset(s), 1/3 converged']);
  const h2 = advanceHistory(h1, a, b, 2);
  const texts = h2.log.slice(1).map((l) => l.text);
  for (const want of [
    'node 22222222 (10.0.0.2) disconnected',
    'dataset web-db moving to 22222222',
    'dataset logs marked deleted',
    'dataset eeee0000 created on 33333333',
    'dataset cache moved to 22222222',
    'dataset cache converged on 22222222',
    'lease on web-db released',
  ]) assert.ok(texts.includes(want), `missing "${want}" in ${JSON.stringify(texts)}`);
  assert.equal(h2.phases[D2]!.map((p) => p.phase), ['moving-out', 'converged']);
  assert.is(h2.lastError[D3], 'losetup failed: no free loop device');
});

test('history: a first mount is "mounted on"; a hand-over through "mounted nowhere" is still a move', () => {
  const a = sampleSnapshot();
  const D9 = 'ffff0000-0000-4000-8000-000000000000';
  a.configuration.push({ dataset_id: D9, primary: N1, deleted: false, metadata: { name: 'fresh' } });
  const mounted = sampleSnapshot();
  mounted.configuration = a.configuration;
  mounted.state = [...a.state, { dataset_id: D9, primary: N1, path: '/flocker/x' }];
  const nowhere = { ...mounted, state: [...a.state, { dataset_id: D9 }] };
  const moved = { ...mounted, state: [...a.state, { dataset_id: D9, primary: N2, path: '/flocker/x' }] };
  let h = advanceHistory(EMPTY_HISTORY, undefined, a, 1);
  h = advanceHistory(h, a, mounted, 2);
  h = advanceHistory(h, mounted, nowhere, 3);
  h = advanceHistory(h, nowhere, moved, 4);
  const texts = h.log.map((l) => l.text);
  assert.ok(texts.includes('dataset fresh mounted on 11111111'), JSON.stringify(texts));
  assert.ok(texts.includes('dataset fresh moved to 22222222'), JSON.stringify(texts));
  assert.not.ok(texts.includes('dataset fresh moved to 11111111'), JSON.stringify(texts));
});

test('history: an unchanged snapshot adds nothing', () => {
  const a = sampleSnapshot();
  const h1 = advanceHistory(EMPTY_HISTORY, undefined, a, 1);
  const h2 = advanceHistory(h1, a, sampleSnapshot(), 2);
  assert.is(h2.log.length, 1);
  assert.equal(h2.phases, h1.phases);
});

test('layout fits 24 rows with the frame one line short of the terminal, and grows with it', () => {
  const small = layoutFor(24, 3, 1);
  assert.is(5 + 1 + small.nodeRows + small.datasetRows + small.logRows, 23);
  assert.ok(small.datasetRows >= 8);
  const big = layoutFor(50, 3, 0);
  assert.ok(big.datasetRows > small.datasetRows);
  assert.is(big.nodeRows, 3);
  assert.ok(layoutFor(0, 3, 0).datasetRows >= 1);
  // few datasets: the rows they do not need go to the event log, and the total stays the same
  const few = layoutFor(24, 3, 1, 2);
  assert.is(few.datasetRows, 2);
  assert.is(few.nodeRows + few.datasetRows + few.logRows, small.nodeRows + small.datasetRows + small.logRows);
});

test('scrollTop keeps the selection visible and moves as little as it can', () => {
  assert.is(scrollTop(0, 5, 3, 0), 0);
  assert.is(scrollTop(7, 5, 20, 0), 3);
  assert.is(scrollTop(4, 5, 20, 3), 3);
  assert.is(scrollTop(2, 5, 20, 3), 2);
  assert.is(scrollTop(19, 5, 20, 30), 15);
});

test.run();
