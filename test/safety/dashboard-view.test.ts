// The dashboard's view of what the safety work reports: a node silent past --node-timeout, a
// dataset whose node is unreachable, and a dataset a node keeps although the configuration has no
// row for it (shown, in red, until `flocker adopt`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMPTY_HISTORY } from '../../src/client/history.js';
import { buildViewModel } from '../../src/ui/view-model.js';
import { N1, sampleSnapshot } from '../ui/fake-client.js';

const NOW = Date.parse('2026-01-01T00:00:30.000Z');
const ORPHAN = 'eeeeeeee-0000-4000-8000-00000000000e';

test('unreachable nodes and datasets, and datasets held without a configuration row, are shown', () => {
  const s = sampleSnapshot();
  const snap = {
    ...s,
    nodes: s.nodes.map((n) => (n.uuid === N1 ? { ...n, connected: false, unreachable: true } : n)),
    convergence: [
      ...s.convergence.map((c, i) => (i === 0 ? { ...c, phase: 'unreachable' as const, reason: 'node 11111111 has not reported for over 30 s' } : c)),
      { dataset_id: ORPHAN, desired_node: N1, actual_node: N1, phase: 'error' as const, reason: 'has no dataset; run `flocker adopt`', since: '2026-01-01T00:00:00.000Z' },
    ],
  };
  const vm = buildViewModel(snap, NOW, EMPTY_HISTORY);
  assert.match(vm.nodes.find((n) => n.uuid === N1)!.status, /^unreachable /);
  assert.ok(vm.datasets.some((d) => d.phase === 'unreachable'));
  const orphan = vm.datasets.find((d) => d.id === ORPHAN);
  assert.ok(orphan, 'the unconfigured dataset is listed');
  assert.ok(orphan!.error);
  assert.match(orphan!.reason, /flocker adopt/);
});

test.run();
