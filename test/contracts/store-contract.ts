// What every ConfigurationStore must do, whatever keeps the data (SQLite file, etcd). Each store's
// test file runs this suite against a real instance of it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deploymentToJson, type Dataset, type Lease } from '../../src/model/configuration.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import type { ConfigurationStore, StoreChange } from '../../src/store/store.js';

export interface StoreFixture {
  /** A new, empty store. */
  fresh(): Promise<ConfigurationStore>;
  /** The same store opened again, after `s` was closed. */
  reopen(s: ConfigurationStore): Promise<ConfigurationStore>;
  /** Another live handle on the store `s` (another replica), or undefined for single-owner stores. */
  second?(s: ConfigurationStore): Promise<ConfigurationStore>;
}

const N = '11111111-1111-4111-8111-111111111111' as NodeId;
const N2 = '22222222-2222-4222-8222-222222222222' as NodeId;
const ds = (i: number, over: Partial<Dataset> = {}): Dataset => ({
  datasetId: `dddddddd-0000-4000-8000-${String(i).padStart(12, '0')}` as DatasetId,
  primary: N, deleted: false, maximumSize: null, metadata: { name: `d${i}` }, ...over,
});
const lease = (d: Dataset, expiresAt: number | null = null): Lease => ({ datasetId: d.datasetId, nodeId: N, expiresAt });
const change = (datasets: Dataset[], leases: [string, Lease | null][] = []): StoreChange => ({
  datasets: new Map(datasets.map((d) => [d.datasetId, d])), leases: new Map(leases),
});

export function storeContract(name: string, fixture: StoreFixture): void {
  const t = suite(`store contract: ${name}`);
  const open: ConfigurationStore[] = [];
  const track = (s: ConfigurationStore): ConfigurationStore => { open.push(s); return s; };
  t.after.each(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
  });

  t('a new store is empty, at generation 0, with a UUID identity', async () => {
    const s = track(await fixture.fresh());
    assert.equal(deploymentToJson(s.deployment), { datasets: {}, leases: {} });
    assert.is(s.generation, 0);
    assert.match(s.identity, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await s.catchUp();
    assert.is(s.generation, 0);
  });

  t('a commit is visible when it resolves, announces itself and survives reopening', async () => {
    let s = track(await fixture.fresh());
    const announced: unknown[] = [];
    s.on('change', (w) => announced.push(w));
    const a = ds(1);
    const b = ds(2, { maximumSize: 67108864, metadata: {} });
    assert.ok(await s.commit(0, 2, change([a, b], [[a.datasetId, lease(a, 123)]])));
    assert.equal(deploymentToJson(s.deployment), { datasets: { [a.datasetId]: a, [b.datasetId]: b }, leases: { [a.datasetId]: lease(a, 123) } });
    assert.is(s.generation, 2);
    assert.equal(announced, [{ datasets: true, leases: true, datasetIds: new Set([a.datasetId, b.datasetId]), leaseIds: new Set([a.datasetId]) }]);
    const identity = s.identity;
    await s.close();
    s = track(await fixture.reopen(s));
    assert.equal([s.identity, s.generation], [identity, 2]);
    assert.equal(s.deployment.datasets.get(b.datasetId), b);
    assert.equal(s.deployment.leases.get(a.datasetId), lease(a, 123));
  });

  t('a commit from a stale generation is refused and writes nothing', async () => {
    const s = track(await fixture.fresh());
    assert.ok(await s.commit(0, 1, change([ds(1)])));
    assert.not.ok(await s.commit(0, 1, change([ds(2)])));
    assert.equal([...s.deployment.datasets.keys()], [ds(1).datasetId]);
    assert.is(s.generation, 1);
  });

  t('a released lease is gone; a changed dataset replaces the old one; others are untouched', async () => {
    let s = track(await fixture.fresh());
    const a = ds(1);
    const b = ds(2);
    await s.commit(0, 1, change([a, b], [[a.datasetId, lease(a)], [b.datasetId, lease(b)]]));
    const moved = { ...a, primary: N2 };
    assert.ok(await s.commit(1, 3, change([moved], [[a.datasetId, null]])));
    assert.equal(s.deployment.datasets.get(a.datasetId), moved);
    assert.equal(s.deployment.datasets.get(b.datasetId), b);
    assert.equal([...s.deployment.leases.keys()], [b.datasetId]);
    await s.close();
    s = track(await fixture.reopen(s));
    assert.equal(s.deployment.datasets.get(a.datasetId), moved);
    assert.equal([...s.deployment.leases.keys()], [b.datasetId]);
    assert.is(s.generation, 3);
  });

  if (fixture.second) {
    const second = fixture.second;
    t('two replicas: a commit through one is seen by the other after catchUp; their commits serialise', async () => {
      const a = track(await fixture.fresh());
      const b = track(await second(a));
      assert.is(b.identity, a.identity);
      assert.ok(await a.commit(0, 1, change([ds(1)])));
      await b.catchUp();
      assert.is(b.generation, 1);
      assert.ok(b.deployment.datasets.get(ds(1).datasetId));
      // Both start from generation 1: exactly one wins.
      const [x, y] = await Promise.all([a.commit(1, 2, change([ds(2)])), b.commit(1, 2, change([ds(3)]))]);
      assert.equal([x, y].filter(Boolean).length, 1);
      await a.catchUp();
      await b.catchUp();
      assert.equal(deploymentToJson(a.deployment), deploymentToJson(b.deployment));
      assert.is(a.deployment.datasets.size, 2);
    });
  }

  t.run();
}
