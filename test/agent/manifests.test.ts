// The manifest keeper over a real manifest folder: which datasets a node reports for adopt, and
// as held or only seen free, per kind of pool; only the configured holder writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { poolManifests } from '../../src/backends/manifests.js';
import type { DiscoveredDataset } from '../../src/converge/dataset-state.js';
import { silentLogger } from '../../src/log.js';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { ManifestKeeper } from '../../src/roles/agent/manifests.js';
import { A, B, D1, D2, dataset, deployment, found, local } from '../converge/fixtures.js';

const pool = mkdtempSync(join(tmpdir(), 'flocker-manifests-'));
test.after(() => rmSync(pool, { recursive: true, force: true }));
const store = poolManifests(pool);
const D3: DatasetId = asDatasetId('d3d3d3d3-0000-4000-8000-000000000003');
const D4: DatasetId = asDatasetId('d4d4d4d4-0000-4000-8000-000000000004');
const replica: DiscoveredDataset = { kind: 'replica', datasetId: D3, snapshot: 's1' };
const handedOff: DiscoveredDataset = { kind: 'handed-off', datasetId: D4, to: B, snapshot: 's1' };
const reported = (k: ManifestKeeper) =>
  (k.decorate({ manifestations: [], nonManifest: [], progress: [] }).manifests ?? []).map((m) => [m.datasetId, m.held, m.metadata.name]);

test.before(async () => {
  for (const [id, name] of [[D1, 'one'], [D2, 'two'], [D3, 'replica'], [D4, 'handed-off']] as const) {
    await store.write({ datasetId: id, maximumSize: null, metadata: { name } });
  }
});

test('shared pool: attached here is held, unattached is seen free; what is attached elsewhere is its holder\'s to report', async () => {
  const k = new ManifestKeeper(store, A, silentLogger());
  await k.refresh(local(found.mounted(D1), found.nonManifest(D2), found.elsewhere(D3)), undefined);
  assert.equal(reported(k), [[D1, true, 'one'], [D2, false, 'two']]);
});

test('private pool (p2p): every volume is held; a replica or a handed-off copy is never reported', async () => {
  const k = new ManifestKeeper(store, A, silentLogger(), true);
  await k.refresh(local(found.mounted(D1), found.nonManifest(D2), replica, handedOff), undefined);
  assert.equal(reported(k), [[D1, true, 'one'], [D2, true, 'two']]);
});

test('the configured holder writes what the configuration says; a copy handed off is left alone', async () => {
  const k = new ManifestKeeper(store, A, silentLogger(), true);
  const config = deployment([
    dataset(D1, A, { metadata: { name: 'renamed' }, maximumSize: 1 << 30 }),
    dataset(D2, B, { metadata: { name: 'not mine' } }),
    dataset(D4, A, { metadata: { name: 'not here any more' } }),
  ]);
  await k.refresh(local(found.mounted(D1), found.nonManifest(D2), handedOff), config);
  assert.equal(JSON.parse(readFileSync(join(pool, 'manifests', `${D1}.json`), 'utf8')), { dataset_id: D1, maximum_size: 1 << 30, metadata: { name: 'renamed' } });
  assert.equal(await store.read(D2), { datasetId: D2, maximumSize: null, metadata: { name: 'two' } }, 'only the primary writes');
  assert.equal(await store.read(D4), { datasetId: D4, maximumSize: null, metadata: { name: 'handed-off' } });
  assert.equal(reported(k), [[D1, true, 'renamed'], [D2, true, 'two']]);
});

test('a dataset that leaves and comes back is read again, not remembered', async () => {
  const k = new ManifestKeeper(store, A, silentLogger(), true);
  await k.refresh(local(found.mounted(D2)), undefined);
  await k.refresh(local(), undefined);
  // Another node held it meanwhile and wrote its manifest, which came back with the copy.
  await store.write({ datasetId: D2, maximumSize: null, metadata: { name: 'written elsewhere' } });
  await k.refresh(local(found.mounted(D2)), undefined);
  assert.equal(reported(k), [[D2, true, 'written elsewhere']]);
});

test.run();
