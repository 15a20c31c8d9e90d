// The client against the real control service (a `flocker control` process, real TLS, real
// SQLite): every ControlClient call, its error mapping, and the live event stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createControlClient } from '../../src/client/control-client.js';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { ApiRequestError, type ControlClient, type EventCursor } from '../../src/client/types.js';
import { UnreachableError } from '../../src/errors.js';
import type { ClusterEvent } from '../../src/protocol/events.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { failure } from '../support/failure.js';
import { startControl, type ControlProcess } from '../control/process-harness.js';
import { freePort } from '../support/ports.js';
import { followCluster } from '../../src/client/follow.js';

const N1 = '7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f';
const N2 = '0b3f7c9a-1d2e-4f50-8a6b-7c8d9e0f1a2b';

let dir: string;
let certs: TestCerts;
let control: ControlProcess | undefined;
let port: number;
let client: ControlClient;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-client-e2e-'));
  certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  control = await startControl(join(dir, 'data'), certs.dir);
  port = control.apiPort;
  client = clientFromCertsDir({ host: '127.0.0.1', port, certsPath: certs.dir, user: 'user' });
});

test.after(async () => {
  client?.close();
  await control?.kill9();
  rmSync(dir, { recursive: true, force: true });
});

test('version', async () => {
  const v = await client.version();
  assert.type(v.flocker, 'string');
});

test('datasets: tag, conditional create (412 on a stale tag), move, delete, 404 and 405', async () => {
  const first = await client.listDatasets();
  assert.ok(first.tag.length > 0, 'X-Configuration-Tag read from the header');
  const created = await client.createDataset({ primary: N1, metadata: { name: 'db' }, maximum_size: 67108864 }, { ifConfigurationMatches: first.tag });
  assert.is(created.primary, N1);
  assert.equal(created.metadata, { name: 'db' });
  const stale = await failure(client.createDataset({ primary: N1 }, { ifConfigurationMatches: first.tag }));
  assert.instance(stale, ApiRequestError);
  assert.is((stale as ApiRequestError).status, 412);
  assert.match(stale.message, /^Tag doesn't match\. Required: /);
  const after = await client.listDatasets();
  assert.is.not(after.tag, first.tag);
  assert.ok(after.datasets.some((d) => d.dataset_id === created.dataset_id));
  const moved = await client.moveDataset(created.dataset_id, N2, { ifConfigurationMatches: after.tag });
  assert.is(moved.primary, N2);
  const deleted = await client.deleteDataset(created.dataset_id);
  assert.is(deleted.deleted, true);
  const gone = await failure(client.moveDataset(created.dataset_id, N1));
  assert.is((gone as ApiRequestError).status, 405);
  assert.is(gone.message, 'The dataset has been deleted.');
  const unknown = await failure(client.deleteDataset('11111111-2222-4333-8444-555555555555'));
  assert.is((unknown as ApiRequestError).status, 404);
  assert.is(unknown.message, 'Dataset not found.');
});

test('a body the schema refuses: 400 with the schema errors', async () => {
  const e = await failure(client.createDataset({ primary: 'not-a-uuid' }));
  assert.instance(e, ApiRequestError);
  assert.is((e as ApiRequestError).status, 400);
  assert.is((e as ApiRequestError).description, "The provided JSON doesn't match the required schema.");
  assert.ok(((e as ApiRequestError).errors ?? []).length > 0);
});

test('leases: acquire, held by another node (409), list, release, release again (404)', async () => {
  const d = '22222222-3333-4444-8555-666666666666';
  const lease = await client.acquireLease(d, N1, null);
  assert.equal(lease, { dataset_id: d, node_uuid: N1, expires: null });
  const held = await failure(client.acquireLease(d, N2, 10));
  assert.is((held as ApiRequestError).status, 409);
  assert.is(held.message, 'Lease already held.');
  assert.ok((await client.listLeases()).some((l) => l.dataset_id === d));
  assert.is((await client.releaseLease(d)).node_uuid, N1);
  const again = await failure(client.releaseLease(d));
  assert.is((again as ApiRequestError).status, 404);
});

test('state, nodes, convergence, nodeByEra (undefined for an unknown era)', async () => {
  assert.ok(Array.isArray(await client.stateDatasets()));
  assert.ok(Array.isArray(await client.stateNodes()));
  assert.ok(Array.isArray(await client.convergence()));
  assert.is(await client.nodeByEra('33333333-4444-4555-8666-777777777777'), undefined);
});

test('events: the snapshot, then the change a create makes, then a clean stop', async () => {
  const ac = new AbortController();
  const seen: ClusterEvent[] = [];
  let createdId: string | undefined;
  const timer = setTimeout(() => ac.abort(), 10_000);
  for await (const e of client.events(ac.signal)) {
    seen.push(e);
    if (e.type === 'snapshot') {
      createdId = (await client.createDataset({ primary: N1, metadata: { name: 'live' } })).dataset_id;
    }
    if (e.type === 'configuration' && e.data.set.some((d) => d.dataset_id === createdId)) ac.abort();
  }
  clearTimeout(timer);
  assert.is(seen[0]?.type, 'snapshot');
  const last = seen[seen.length - 1]!;
  assert.is(last.type, 'configuration', `events seen: ${seen.map((e) => e.type).join(', ')}`);
});

test('events: a follower back with its last event id gets resumed and what it missed, not a snapshot', async () => {
  const cursor: EventCursor = {};
  const read = async (c: EventCursor, until: (e: ClusterEvent) => boolean, act?: (e: ClusterEvent) => Promise<void>): Promise<ClusterEvent[]> => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    const seen: ClusterEvent[] = [];
    for await (const e of client.events(ac.signal, c)) {
      seen.push(e);
      await act?.(e);
      if (until(e)) ac.abort();
    }
    clearTimeout(timer);
    return seen;
  };
  const mentions = (e: ClusterEvent, id: string | undefined): boolean => e.type === 'configuration' && e.data.set.some((d) => d.dataset_id === id);
  let first: string | undefined;
  const one = await read(cursor, (e) => mentions(e, first), async (e) => {
    if (e.type === 'snapshot') first = (await client.createDataset({ primary: N1, metadata: { name: 'before' } })).dataset_id;
  });
  assert.is(one[0]?.type, 'snapshot');
  assert.ok(mentions(one.at(-1)!, first), 'the create was seen');
  assert.match(cursor.lastEventId ?? '', /^[0-9a-f]+\.\d+$/);
  // Away while something changes.
  const missed = (await client.createDataset({ primary: N1, metadata: { name: 'while away' } })).dataset_id;
  const two = await read(cursor, (e) => mentions(e, missed));
  assert.equal(two.map((e) => e.type).slice(0, 1), ['resumed'], `events seen: ${two.map((e) => e.type).join(', ')}`);
  assert.not.ok(two.some((e) => e.type === 'snapshot'));
  assert.ok(mentions(two.at(-1)!, missed), 'what it missed came after');
  // An id this control service never gave (another one's, or from before a restart): a snapshot.
  const three = await read({ lastEventId: '0badc0de0bad.3' }, (e) => e.type === 'snapshot');
  assert.is(three[0]?.type, 'snapshot');
  assert.ok((three[0] as Extract<ClusterEvent, { type: 'snapshot' }>).data.configuration.some((d) => d.dataset_id === missed));
});

test('a node certificate on the REST API: one line saying it needs an API user certificate', async () => {
  const node = certs.nodes[0]!;
  const c = createControlClient({
    host: '127.0.0.1', port, caCert: readFileSync(certs.caCert, 'utf8'), cert: readFileSync(node.cert, 'utf8'), key: readFileSync(node.key, 'utf8'),
  });
  const e = await failure(c.version());
  c.close();
  assert.match(e.message, `the control service at 127.0.0.1:${port} rejected our certificate: the REST API accepts only API user certificates`);
});

const userPem = (): { caCert: string; cert: string; key: string } => ({
  caCert: readFileSync(join(certs.dir, 'cluster.crt'), 'utf8'),
  cert: readFileSync(join(certs.dir, 'user.crt'), 'utf8'),
  key: readFileSync(join(certs.dir, 'user.key'), 'utf8'),
});

test('fail-over: an address that refuses, then the real control service; the client stays on the one that answered', async () => {
  const dead = await freePort();
  const moves: string[] = [];
  const c = createControlClient({
    host: '127.0.0.1', port: dead, fallbacks: [{ host: '127.0.0.1', port }],
    ...userPem(),
    onFailover: (to, from, reason) => moves.push(`${from} -> ${to}: ${reason}`),
  });
  try {
    assert.is(c.address, `127.0.0.1:${dead}`);
    assert.type((await c.version()).flocker, 'string');
    assert.is(c.address, `127.0.0.1:${port}`, 'says which one it uses');
    assert.is(moves.length, 1);
    assert.match(moves[0]!, new RegExp(`^127\\.0\\.0\\.1:${dead} -> 127\\.0\\.0\\.1:${port}: cannot reach the control service at 127\\.0\\.0\\.1:${dead}`));
    await c.stateNodes();
    assert.is(moves.length, 1, 'stays on the address that answered');
    // The follower reaches the stream through the same fail-over.
    const fresh = createControlClient({
      host: '127.0.0.1', port: dead, fallbacks: [{ host: '127.0.0.1', port }],
      ...userPem(),
    });
    const abort = new AbortController();
    try {
      for await (const u of followCluster(fresh, { signal: abort.signal })) {
        assert.is(u.kind, 'event');
        if (u.kind === 'event') assert.is(u.event.type, 'snapshot');
        break;
      }
      assert.is(fresh.address, `127.0.0.1:${port}`);
    } finally {
      abort.abort();
      fresh.close();
    }
  } finally {
    c.close();
  }
});

test('fail-over: every address refusing is one UnreachableError naming the last one tried', async () => {
  const [a, b] = [await freePort(), await freePort()];
  const c = createControlClient({
    host: '127.0.0.1', port: a, fallbacks: [{ host: '127.0.0.1', port: b }],
    ...userPem(),
  });
  try {
    const e = await failure(c.version());
    assert.instance(e, UnreachableError);
    assert.match(e.message, `127.0.0.1:${b}`);
    assert.is(c.address, `127.0.0.1:${a}`, 'the next try starts over from the first');
  } finally {
    c.close();
  }
});

test('once the control service is gone: UnreachableError, connection refused', async () => {
  await control!.stop();
  const e = await failure(client.version());
  assert.instance(e, UnreachableError);
  assert.match(e.message, /connection refused/);
});

test.run();
