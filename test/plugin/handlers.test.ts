import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { NOT_AVAILABLE, NOT_FOUND, PROFILE_KEY, VolumeDriver } from '../../src/roles/plugin/handlers.js';
import { MountCounts } from '../../src/roles/plugin/mount-counts.js';
import { DEFAULT_MAXIMUM_SIZE } from '../../src/roles/plugin/size.js';
import { errText } from '../../src/roles/plugin/errors.js';
import { FakeControl } from './fake-client.js';

const ME = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';

function setup(mountTimeoutMs = 2000): { c: FakeControl; d: VolumeDriver; counts: MountCounts } {
  const c = new FakeControl();
  c.nodes = [
    { uuid: ME, host: '10.0.0.1', era: 'e1', connected: true, last_seen: new Date().toISOString() },
    { uuid: OTHER, host: '10.0.0.2', era: 'e2', connected: true, last_seen: new Date().toISOString() },
  ];
  const counts = new MountCounts(undefined);
  const d = new VolumeDriver({ client: c, nodeId: ME, counts, mountTimeoutMs, log: silentLogger() });
  return { c, d, counts };
}

/** Call like the server does: a thrown error becomes Docker's Err. */
async function call(p: Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  try {
    return await p;
  } catch (e) {
    return { Err: errText(e, '127.0.0.1:4523', silentLogger()) };
  }
}

test('Activate and Capabilities', () => {
  const { d } = setup();
  assert.equal(d.activate(), { Implements: ['VolumeDriver'] });
  assert.equal(d.capabilities(), { Err: '', Capabilities: { Scope: 'global' } });
});

test('Create makes a dataset on this node, 75 GiB by default, named by metadata', async () => {
  const { c, d } = setup();
  assert.equal(await d.create({ Name: 'v', Opts: null }), { Err: '' });
  assert.is(c.datasets.length, 1);
  const ds = c.datasets[0]!;
  assert.is(ds.primary, ME);
  assert.is(ds.maximum_size, DEFAULT_MAXIMUM_SIZE);
  assert.equal(ds.metadata, { name: 'v' });
});

test('Create honours size and profile; other options are ignored', async () => {
  const { c, d } = setup();
  assert.equal(await d.create({ Name: 'v', Opts: { size: '100M', profile: 'gold', colour: 'red' } }), { Err: '' });
  const ds = c.datasets[0]!;
  assert.is(ds.maximum_size, 100 * 1024 * 1024);
  assert.equal(ds.metadata, { name: 'v', maximum_size: String(100 * 1024 * 1024), [PROFILE_KEY]: 'gold' });
});

test('Create with a bad size fails clearly and creates nothing', async () => {
  const { c, d } = setup();
  const r1 = await call(d.create({ Name: 'v', Opts: { size: '10Gfoo' } }));
  assert.match(String(r1.Err), /invalid size "10Gfoo"/);
  const r2 = await call(d.create({ Name: 'v', Opts: { size: '1M' } }));
  assert.match(String(r2.Err), /at least 64 MiB/);
  assert.is(c.datasets.length, 0);
  assert.not.ok(c.calls.includes('createDataset'));
});

test('Create of an existing name is a no-op', async () => {
  const { c, d } = setup();
  await d.create({ Name: 'v' });
  await d.create({ Name: 'v', Opts: { size: '1G' } });
  assert.is(c.datasets.length, 1);
});

test('Create is race-free: a 412 re-reads and finds the name another host just created', async () => {
  const { c, d } = setup();
  let raced = false;
  c.beforeConditional = () => {
    if (raced) return;
    raced = true;
    c.addDataset({ primary: OTHER, metadata: { name: 'v' } }); // another plugin won; tag moves on
  };
  assert.equal(await d.create({ Name: 'v' }), { Err: '' });
  assert.is(c.datasets.length, 1);
  assert.is(c.datasets[0]!.primary, OTHER);
  assert.is(c.calls.filter((x) => x === 'listDatasets').length, 2);
});

test('Create retries a 412 caused by an unrelated change', async () => {
  const { c, d } = setup();
  let n = 0;
  c.beforeConditional = () => {
    if (n++ < 3) c.tagN++;
  };
  assert.equal(await d.create({ Name: 'v' }), { Err: '' });
  assert.is(c.datasets.length, 1);
});

test('Get and List see named, non-deleted datasets; Mountpoint only where mounted here', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: ME, metadata: { name: 'b-here' } });
  c.addDataset({ primary: OTHER, metadata: { name: 'a-there' } });
  c.addDataset({ primary: ME, metadata: { name: 'gone' }, deleted: true });
  c.addDataset({ primary: ME, metadata: {} });
  c.setState([{ dataset_id: a.dataset_id, primary: ME, path: `/flocker/${a.dataset_id}` }]);
  assert.equal(await d.list(), {
    Err: '',
    Volumes: [{ Name: 'a-there', Mountpoint: '' }, { Name: 'b-here', Mountpoint: `/flocker/${a.dataset_id}` }],
  });
  assert.equal(await d.get({ Name: 'b-here' }), { Err: '', Volume: { Name: 'b-here', Mountpoint: `/flocker/${a.dataset_id}` } });
  assert.equal(await d.get({ Name: 'a-there' }), { Err: '', Volume: { Name: 'a-there', Mountpoint: '' } });
  assert.equal(await call(d.get({ Name: 'gone' })), { Err: NOT_FOUND });
  assert.equal(await call(d.get({ Name: 'nope' })), { Err: NOT_FOUND });
});

test('Path: mounted here gives the path, anything else "Volume not available."', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: ME, metadata: { name: 'v' } });
  assert.equal(await d.path({ Name: 'v' }), { Err: NOT_AVAILABLE, Mountpoint: '' });
  c.setState([{ dataset_id: a.dataset_id, primary: OTHER, path: '/elsewhere' }]);
  assert.equal(await d.path({ Name: 'v' }), { Err: NOT_AVAILABLE, Mountpoint: '' });
  c.setState([{ dataset_id: a.dataset_id, primary: ME, path: '/flocker/x' }]);
  assert.equal(await d.path({ Name: 'v' }), { Err: '', Mountpoint: '/flocker/x' });
  assert.not.ok(c.calls.includes('moveDataset'), 'Path never moves');
});

test('Mount of a volume already here takes a lease (expires null) and answers at once', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: ME, metadata: { name: 'v' } });
  c.setState([{ dataset_id: a.dataset_id, primary: ME, path: '/flocker/a' }]);
  assert.equal(await d.mount({ Name: 'v', ID: 'c1' }), { Err: '', Mountpoint: '/flocker/a' });
  assert.equal(c.leases, [{ dataset_id: a.dataset_id, node_uuid: ME, expires: null }]);
  assert.not.ok(c.calls.includes('moveDataset'));
  assert.not.ok(c.calls.includes('events'));
});

test('Mount of a volume on another node moves it and follows events until it is mounted here', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: OTHER, metadata: { name: 'v' } });
  c.setState([{ dataset_id: a.dataset_id, primary: OTHER, path: '/other/a' }]);
  c.onMove = (id, primary) => {
    // The agents: first it leaves the other node, then it appears here.
    setTimeout(() => c.setState([{ dataset_id: id }]), 20);
    setTimeout(() => c.setState([{ dataset_id: id, primary, path: `/flocker/${id}` }]), 60);
  };
  const t0 = Date.now();
  const r = await d.mount({ Name: 'v', ID: 'c1' });
  assert.equal(r, { Err: '', Mountpoint: `/flocker/${a.dataset_id}` });
  assert.ok(Date.now() - t0 < 1000);
  assert.is(c.datasets[0]!.primary, ME);
  assert.is(c.calls.filter((x) => x === 'stateDatasets').length, 1, 'no polling: state read once, then events');
  assert.ok(c.calls.includes('events'));
});

test('Mount of a volume leased by another node fails at once, naming it, and never moves it', async () => {
  const { c, d, counts } = setup();
  const a = c.addDataset({ primary: OTHER, metadata: { name: 'v' } });
  c.leases = [{ dataset_id: a.dataset_id, node_uuid: OTHER, expires: null }];
  const r = await call(d.mount({ Name: 'v', ID: 'c1' }));
  assert.match(String(r.Err), new RegExp(`in use on node ${OTHER}`));
  assert.is(c.datasets[0]!.primary, OTHER);
  assert.not.ok(c.calls.includes('moveDataset'));
  assert.is(counts.count('v'), 0);
});

test('Mount that cannot finish fails in time with what the cluster waits for, and gives the lease back', async () => {
  const { c, d, counts } = setup(300);
  const a = c.addDataset({ primary: OTHER, metadata: { name: 'v' } });
  c.convergenceRows = [{
    dataset_id: a.dataset_id, name: 'v', desired_node: ME, actual_node: OTHER, phase: 'moving-out',
    reason: 'waiting for node 22222222 to unmount it', since: new Date().toISOString(),
  }];
  const t0 = Date.now();
  const r = await call(d.mount({ Name: 'v', ID: 'c1' }));
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
  assert.match(String(r.Err), /still not mounted on this node/);
  assert.match(String(r.Err), /moving-out: waiting for node 22222222 to unmount it/);
  assert.equal(c.leases, []);
  assert.is(counts.count('v'), 0);
});

test('Mount timeout says when this node\'s agent is not connected', async () => {
  const { c, d } = setup(200);
  c.nodes = c.nodes.filter((n) => n.uuid !== ME);
  c.addDataset({ primary: ME, metadata: { name: 'v' } });
  const r = await call(d.mount({ Name: 'v', ID: 'c1' }));
  assert.match(String(r.Err), new RegExp(`agent of this node \\(${ME}\\) is not connected`));
});

test('Unmount: the lease is released only by the last of several mounts', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: ME, metadata: { name: 'v' } });
  c.setState([{ dataset_id: a.dataset_id, primary: ME, path: '/flocker/a' }]);
  await d.mount({ Name: 'v', ID: 'c1' });
  await d.mount({ Name: 'v', ID: 'c2' });
  assert.equal(await d.unmount({ Name: 'v', ID: 'c1' }), { Err: '' });
  assert.is(c.leases.length, 1, 'still used by c2');
  await d.unmount({ Name: 'v', ID: 'c2' });
  assert.equal(c.leases, []);
  assert.equal(await d.unmount({ Name: 'v', ID: 'c2' }), { Err: '' }, 'a stray unmount is harmless');
});

test('Concurrent mounts and unmounts of one volume leave the lease consistent', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: ME, metadata: { name: 'v' } });
  c.setState([{ dataset_id: a.dataset_id, primary: ME, path: '/flocker/a' }]);
  await d.mount({ Name: 'v', ID: 'c0' });
  await Promise.all([d.unmount({ Name: 'v', ID: 'c0' }), d.mount({ Name: 'v', ID: 'c1' })]);
  assert.is(c.leases.length, 1, 'c1 still holds it');
  await d.unmount({ Name: 'v', ID: 'c1' });
  assert.is(c.leases.length, 0);
});

test('Remove refuses while any node holds a lease; otherwise deletes and the name is reusable', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: OTHER, metadata: { name: 'v' } });
  c.leases = [{ dataset_id: a.dataset_id, node_uuid: OTHER, expires: null }];
  const r = await call(d.remove({ Name: 'v' }));
  assert.match(String(r.Err), new RegExp(`in use on node ${OTHER}`));
  assert.is(c.datasets[0]!.deleted, false);
  c.leases = [];
  assert.equal(await d.remove({ Name: 'v' }), { Err: '' });
  assert.is(c.datasets[0]!.deleted, true);
  assert.equal(await call(d.get({ Name: 'v' })), { Err: NOT_FOUND });
  assert.equal(await d.remove({ Name: 'v' }), { Err: '' }, 'removing again is harmless');
  await d.create({ Name: 'v' });
  assert.is(c.datasets.length, 2);
  assert.ok((await d.get({ Name: 'v' })).Err === '');
});

test('Remove refuses while mounted here', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: ME, metadata: { name: 'v' } });
  c.setState([{ dataset_id: a.dataset_id, primary: ME, path: '/flocker/a' }]);
  await d.mount({ Name: 'v', ID: 'c1' });
  assert.match(String((await call(d.remove({ Name: 'v' }))).Err), /mounted by 1 container/);
});

test('Remove that races with a new lease is caught by the tag and refused', async () => {
  const { c, d } = setup();
  const a = c.addDataset({ primary: OTHER, metadata: { name: 'v' } });
  let once = false;
  c.beforeConditional = () => {
    if (once) return;
    once = true;
    void c.acquireLease(a.dataset_id, OTHER, null);
  };
  const r = await call(d.remove({ Name: 'v' }));
  assert.match(String(r.Err), /in use on node/);
  assert.is(c.datasets[0]!.deleted, false);
});

test('a control service that is down gives a clear Err naming it', async () => {
  const { c, d } = setup();
  c.failWith = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  for (const p of [d.list(), d.get({ Name: 'v' }), d.create({ Name: 'v' }), d.mount({ Name: 'v' })]) {
    const r = await call(p);
    assert.match(String(r.Err), /^cannot reach the control service at 127\.0\.0\.1:4523/);
  }
});

test('our own sentences are never mistaken for network failures', () => {
  const e = new UserError('volume "v" is still not mounted on this node after 100 s: error: losetup timed out (TLS certificate?)');
  assert.is(errText(e, 'ctl:4523', silentLogger()), e.message);
});

test('a missing Name is an Err, not a crash', async () => {
  const { d } = setup();
  for (const p of [d.create({}), d.mount({ Name: 7 }), d.remove({ Name: null }), d.get({})]) {
    assert.match(String((await call(p)).Err), /names no volume/);
  }
});

test.run();
