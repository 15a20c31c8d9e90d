// `flocker adopt`'s decisions as a table: what the nodes hold × what the configuration says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planAdopt } from '../../src/cli/format/adopt.js';
import type { ApiDatasetConfig, ApiManifest } from '../../src/protocol/api-json.js';

const N1 = '11111111-1111-4111-8111-111111111111';
const N2 = '22222222-2222-4222-8222-222222222222';
const D1 = 'd1d1d1d1-0000-4000-8000-000000000001';
const D2 = 'd2d2d2d2-0000-4000-8000-000000000002';

const man = (id: string, node: string, held: boolean, metadata: Record<string, string> = { name: 'db' }): ApiManifest =>
  ({ dataset_id: id, node_uuid: node, held, metadata, maximum_size: 1073741824 });
const cfg = (id: string, primary: string, deleted = false): ApiDatasetConfig => ({ dataset_id: id, primary, deleted, metadata: {} });

test('a dataset held by a node and missing from the configuration is added on that node, with its manifest', () => {
  const steps = planAdopt({ configuration: [], manifests: [man(D1, N1, false), man(D1, N2, true)], state: [] });
  assert.equal(steps.map((s) => s.kind), ['create']);
  const s = steps[0]!;
  assert.ok(s.kind === 'create');
  assert.is(s.primary, N2);
  assert.equal(s.metadata, { name: 'db' });
  assert.is(s.maximumSize, 1073741824);
  assert.match(s.line, /add dataset d1d1d1d1-.* \(name=db\) on node 22222222, which holds it/);
});

test('a volume free in a shared pool goes to the first node that sees it', () => {
  const steps = planAdopt({ configuration: [], manifests: [man(D1, N2, false), man(D1, N1, false)], state: [] });
  assert.ok(steps[0]?.kind === 'create' && steps[0].primary === N1);
  assert.match(steps[0]!.line, /free in the pool/);
});

test('a dataset the configuration places elsewhere than its holder is pointed at the holder', () => {
  const steps = planAdopt({ configuration: [cfg(D1, N1)], manifests: [man(D1, N2, true)], state: [] });
  assert.equal(steps.map((s) => [s.kind, s.kind === 'move' ? s.primary : '']), [['move', N2]]);
  assert.match(steps[0]!.line, /the configuration said node 11111111/);
});

test('already right, or free while configured: nothing to do', () => {
  assert.equal(planAdopt({ configuration: [cfg(D1, N1), cfg(D2, N1)], manifests: [man(D1, N1, true), man(D2, N2, false)], state: [] }), []);
});

test('marked deleted: left alone, and said so', () => {
  const steps = planAdopt({ configuration: [cfg(D1, N1, true)], manifests: [man(D1, N1, true)], state: [] });
  assert.equal(steps.map((s) => s.kind), ['skip']);
  assert.match(steps[0]!.line, /marks it deleted/);
});

test('mounted without a manifest (made before manifests existed): adopted bare from the state', () => {
  const steps = planAdopt({ configuration: [], manifests: [], state: [{ dataset_id: D2, primary: N1, path: '/m', maximum_size: 67108864 }] });
  assert.ok(steps[0]?.kind === 'create' && steps[0].primary === N1 && steps[0].maximumSize === 67108864);
  assert.match(steps[0]!.line, /no manifest found/);
});

test.run();
