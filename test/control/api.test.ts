import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { startApp, type AppHarness } from './app-harness.js';
import { until } from '../support/until.js';

const N1 = '11111111-1111-4111-8111-111111111111';
const N2 = '22222222-2222-4222-a222-222222222222';
const DECODE = 'The request body could not be decoded according to the value of the\nContent-Type header.';
const SCHEMA = "The provided JSON doesn't match the required schema.";

let h: AppHarness;
test.before.each(async () => { h = await startApp(); });
test.after.each(async () => { await h.close(); });

function assertSchema400(r: { status: number; json: unknown }, what: string): void {
  assert.is(r.status, 400, what);
  const j = r.json as { description: string; errors: unknown[] };
  assert.is(j.description, SCHEMA, what);
  assert.ok(Array.isArray(j.errors) && j.errors.length > 0 && j.errors.every((e) => typeof e === 'string'), what);
}

test('GET /v1/version', async () => {
  const r = await h.call('GET', '/v1/version');
  assert.is(r.status, 200);
  assert.equal(r.json, { flocker: '1.15.0' });
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
});

test('create: generated id, given id lower-cased, metadata default, null size omitted', async () => {
  const a = await h.call('POST', '/v1/configuration/datasets', { primary: N1 });
  assert.is(a.status, 201);
  const ja = a.json as Record<string, unknown>;
  assert.match(String(ja.dataset_id), /^[0-9a-f-]{36}$/);
  assert.equal({ ...ja, dataset_id: 'x' }, { dataset_id: 'x', primary: N1, deleted: false, metadata: {} });
  const b = await h.call('POST', '/v1/configuration/datasets', {
    primary: N1, dataset_id: 'AAAAAAAA-1111-4111-8111-111111111111', maximum_size: null, metadata: { name: 'demo' },
  });
  assert.is(b.status, 201);
  assert.equal(b.json, { dataset_id: 'aaaaaaaa-1111-4111-8111-111111111111', primary: N1, deleted: false, metadata: { name: 'demo' } });
  const c = await h.call('POST', '/v1/configuration/datasets', { primary: N1, maximum_size: 67108864 });
  assert.is((c.json as { maximum_size: number }).maximum_size, 67108864);
  const list = await h.call('GET', '/v1/configuration/datasets');
  assert.is((list.json as unknown[]).length, 3);
  assert.match(list.headers.get('x-configuration-tag') ?? '', /^[0-9a-f]{32}$/);
});

test('create: collision (case-insensitive, deleted included) is 409 and changes nothing', async () => {
  const id = 'bbbbbbbb-1111-4111-8111-111111111111';
  await h.call('POST', '/v1/configuration/datasets', { primary: N1, dataset_id: id });
  const tag = (await h.call('GET', '/v1/configuration/datasets')).headers.get('x-configuration-tag');
  const r = await h.call('POST', '/v1/configuration/datasets', { primary: N2, dataset_id: id.toUpperCase() });
  assert.is(r.status, 409);
  assert.equal(r.json, { description: 'The provided dataset_id is already in use.' });
  await h.call('DELETE', `/v1/configuration/datasets/${id}`);
  const again = await h.call('POST', '/v1/configuration/datasets', { primary: N1, dataset_id: id });
  assert.is(again.status, 409);
  assert.is.not(tag, (await h.call('GET', '/v1/configuration/datasets')).headers.get('x-configuration-tag'));
});

test('create: schema violations are 400 with the schema description', async () => {
  const bad: [string, unknown][] = [
    ['missing primary', {}],
    ['v3 uuid', { primary: '11111111-1111-3111-8111-111111111111' }],
    ['ip address', { primary: '10.0.0.1' }],
    ['bad dataset_id', { primary: N1, dataset_id: 'nope' }],
    ['size too small', { primary: N1, maximum_size: 1024 }],
    ['size not multiple of 1024', { primary: N1, maximum_size: 67108865 }],
    ['size fractional', { primary: N1, maximum_size: 67108864.5 }],
    ['size string', { primary: N1, maximum_size: '1G' }],
    ['17 metadata', { primary: N1, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }],
    ['empty key', { primary: N1, metadata: { '': 'v' } }],
    ['long key', { primary: N1, metadata: { ['k'.repeat(257)]: 'v' } }],
    ['long value', { primary: N1, metadata: { k: 'v'.repeat(257) } }],
    ['number value', { primary: N1, metadata: { k: 1 } }],
    ['unknown key', { primary: N1, junk: 1 }],
    ['deleted key', { primary: N1, deleted: true }],
    ['array body', [N1]],
    ['number body', 5],
  ];
  for (const [what, body] of bad) assertSchema400(await h.call('POST', '/v1/configuration/datasets', body), what);
  const ok = await h.call('POST', '/v1/configuration/datasets', {
    primary: N1, metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`${i}`.padEnd(256, 'k'), 'v'.repeat(256)])),
  });
  assert.is(ok.status, 201, '16 properties at the limits');
  assert.is(((await h.call('GET', '/v1/configuration/datasets')).json as unknown[]).length, 1);
});

test('a bad size gets one error that names the limit, not one per schema alternative', async () => {
  const r = await h.call('POST', '/v1/configuration/datasets', { primary: N1, maximum_size: 10 * 1024 * 1024 });
  assert.is(r.status, 400);
  assert.equal((r.json as { errors: string[] }).errors, ['maximum_size: must be >= 67108864']);
  const t = await h.call('POST', '/v1/configuration/datasets', { primary: N1, maximum_size: '1G' });
  assert.equal((t.json as { errors: string[] }).errors, ['maximum_size: must be an integer or null']);
});

test('malformed, empty and oversized bodies', async () => {
  for (const body of ['{', '', 'nope']) {
    const r = await h.call('POST', '/v1/configuration/datasets', body);
    assert.is(r.status, 400);
    assert.equal(r.json, { description: DECODE });
  }
  const big = await h.call('POST', '/v1/configuration/datasets', JSON.stringify({ primary: N1, metadata: { k: 'x'.repeat(2 * 1024 * 1024) } }));
  assert.is(big.status, 413);
  assert.ok(typeof (big.json as { description: string }).description === 'string');
});

test('update moves, {} is a no-op, only primary allowed, 404, 405 on deleted', async () => {
  const { json } = await h.call('POST', '/v1/configuration/datasets', { primary: N1, metadata: { name: 'm' }, maximum_size: 67108864 });
  const id = (json as { dataset_id: string }).dataset_id;
  const tag0 = (await h.call('GET', '/v1/configuration/datasets')).headers.get('x-configuration-tag');
  const noop = await h.call('POST', `/v1/configuration/datasets/${id}`, {});
  assert.is(noop.status, 200);
  assert.is((await h.call('GET', '/v1/configuration/datasets')).headers.get('x-configuration-tag'), tag0, 'no-op keeps the tag');
  const moved = await h.call('POST', `/v1/configuration/datasets/${id}`, { primary: N2 });
  assert.is(moved.status, 200);
  assert.equal(moved.json, { dataset_id: id, primary: N2, deleted: false, metadata: { name: 'm' }, maximum_size: 67108864 });
  assertSchema400(await h.call('POST', `/v1/configuration/datasets/${id}`, { metadata: {} }), 'metadata');
  assertSchema400(await h.call('POST', `/v1/configuration/datasets/${id}`, { primary: 'x' }), 'bad primary');
  const missing = await h.call('POST', '/v1/configuration/datasets/cccccccc-1111-4111-8111-111111111111', { primary: N1 });
  assert.equal([missing.status, missing.json], [404, { description: 'Dataset not found.' }]);
  const upper = await h.call('POST', `/v1/configuration/datasets/${id.toUpperCase()}`, { primary: N1 });
  assert.is(upper.status, 404, 'lookup is exact on the lower-case id');
  await h.call('DELETE', `/v1/configuration/datasets/${id}`);
  const del = await h.call('POST', `/v1/configuration/datasets/${id}`, { primary: N1 });
  assert.equal([del.status, del.json], [405, { description: 'The dataset has been deleted.' }]);
});

test('delete tombstones idempotently; 404 unknown', async () => {
  const { json } = await h.call('POST', '/v1/configuration/datasets', { primary: N1 });
  const id = (json as { dataset_id: string }).dataset_id;
  const a = await h.call('DELETE', `/v1/configuration/datasets/${id}`);
  const b = await h.call('DELETE', `/v1/configuration/datasets/${id}`);
  assert.equal([a.status, a.json], [200, { dataset_id: id, primary: N1, deleted: true, metadata: {} }]);
  assert.equal([b.status, b.json], [a.status, a.json]);
  const list = (await h.call('GET', '/v1/configuration/datasets')).json as { deleted: boolean }[];
  assert.equal(list.map((d) => d.deleted), [true]);
  const missing = await h.call('DELETE', '/v1/configuration/datasets/cccccccc-1111-4111-8111-111111111111');
  assert.equal([missing.status, missing.json], [404, { description: 'Dataset not found.' }]);
});

test('X-If-Configuration-Matches: 412 before body and lookup; matching tag proceeds', async () => {
  const tag = (await h.call('GET', '/v1/configuration/datasets')).headers.get('x-configuration-tag') ?? '';
  const bad = { 'X-If-Configuration-Matches': 'nope' };
  const r = await h.call('POST', '/v1/configuration/datasets', '{', bad);
  assert.equal([r.status, r.json], [412, { description: `Tag doesn't match. Required: nope, current: ${tag}` }]);
  assert.is((await h.call('POST', '/v1/configuration/datasets/cccccccc-1111-4111-8111-111111111111', {}, bad)).status, 412);
  assert.is((await h.call('DELETE', '/v1/configuration/datasets/cccccccc-1111-4111-8111-111111111111', undefined, bad)).status, 412);
  const ok = await h.call('POST', '/v1/configuration/datasets', { primary: N1 }, { 'X-If-Configuration-Matches': tag });
  assert.is(ok.status, 201);
  const stale = await h.call('POST', '/v1/configuration/datasets', { primary: N1 }, { 'X-If-Configuration-Matches': tag });
  assert.is(stale.status, 412, 'the tag changed with the create');
  assert.is(((await h.call('GET', '/v1/configuration/datasets')).json as unknown[]).length, 1);
});

test('two conditional moves with one tag, headers first and bodies later: exactly one wins, the other stores nothing', async () => {
  const created = await h.call('POST', '/v1/configuration/datasets', { primary: N1 });
  const id = (created.json as { dataset_id: string }).dataset_id;
  const tag = (await h.call('GET', '/v1/configuration/datasets')).headers.get('x-configuration-tag') ?? '';
  let arrived = 0;
  const onRequest = (): void => { arrived += 1; };
  h.server.on('request', onRequest);
  const targets = [N2, '33333333-3333-4333-8333-333333333333'];
  const sent = targets.map((primary) => {
    const body = JSON.stringify({ primary });
    const req = request(`${h.base}/v1/configuration/datasets/${id}`, {
      method: 'POST', headers: { 'X-If-Configuration-Matches': tag, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    });
    req.flushHeaders();
    const answer = new Promise<{ status: number; primary: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, primary: (JSON.parse(text) as { primary?: string }).primary ?? '' }));
      });
      req.on('error', reject);
    });
    return { req, body, answer };
  });
  // Both requests' headers are in (and past the early tag check) before either body is sent.
  const deadline = Date.now() + 5000;
  while (arrived < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  h.server.off('request', onRequest);
  assert.is(arrived, 2);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  for (const s of sent) s.req.end(s.body);
  const answers = await Promise.all(sent.map((s) => s.answer));
  assert.equal(answers.map((a) => a.status).sort(), [200, 412]);
  const winner = answers.find((a) => a.status === 200)?.primary;
  const list = (await h.call('GET', '/v1/configuration/datasets')).json as { dataset_id: string; primary: string }[];
  assert.equal(list.find((d) => d.dataset_id === id)?.primary, winner, 'the stored primary is the winner\'s');
});

test('leases: 201 create, 200 renew, 409 other node, 404 release, 400 bad body, expires counts down', async () => {
  const D = 'dddddddd-1111-4111-8111-111111111111';
  const a = await h.call('POST', '/v1/configuration/leases', { dataset_id: D, node_uuid: N1, expires: 30 });
  assert.equal([a.status, a.json], [201, { dataset_id: D, node_uuid: N1, expires: 30 }]);
  const b = await h.call('POST', '/v1/configuration/leases', { dataset_id: D, node_uuid: N1, expires: null });
  assert.equal([b.status, b.json], [200, { dataset_id: D, node_uuid: N1, expires: null }]);
  const c = await h.call('POST', '/v1/configuration/leases', { dataset_id: D, node_uuid: N2, expires: 10 });
  assert.equal([c.status, c.json], [409, { description: 'Lease already held.' }]);
  await h.call('POST', '/v1/configuration/leases', { dataset_id: D, node_uuid: N1, expires: 30 });
  const list = await until('the lease to count down', async () => {
    const l = (await h.call('GET', '/v1/configuration/leases')).json as { expires: number }[];
    return l.length === 1 && l[0]!.expires < 30 ? l : undefined;
  });
  assert.ok(list[0]!.expires > 29, `counting down: ${list[0]!.expires}`);
  const rel = await h.call('DELETE', `/v1/configuration/leases/${D}`);
  assert.is(rel.status, 200);
  assert.is((rel.json as { node_uuid: string }).node_uuid, N1);
  assert.equal((await h.call('DELETE', `/v1/configuration/leases/${D}`)).json, { description: 'Lease not found.' });
  assert.is((await h.call('DELETE', '/v1/configuration/leases/not-a-uuid')).status, 404);
  for (const body of [
    { dataset_id: 'x'.repeat(36), node_uuid: N1, expires: 1 },
    { dataset_id: D, node_uuid: N1 },
    { dataset_id: D, node_uuid: N1, expires: '1' },
    { dataset_id: D, node_uuid: N1, expires: 1, junk: 1 },
  ]) assertSchema400(await h.call('POST', '/v1/configuration/leases', body), JSON.stringify(body));
});

test('expired leases are swept', async () => {
  const D = 'dddddddd-1111-4111-8111-111111111111';
  await h.call('POST', '/v1/configuration/leases', { dataset_id: D, node_uuid: N1, expires: 0.05 });
  await until('the sweep to drop the expired lease', async () => {
    await h.hub.sweepLeases();
    return JSON.stringify((await h.call('GET', '/v1/configuration/leases')).json) === '[]';
  });
});

test('state endpoints and by_era 404s; unknown path 404 and wrong method 405 as JSON', async () => {
  assert.equal((await h.call('GET', '/v1/state/datasets')).json, []);
  assert.equal((await h.call('GET', '/v1/state/nodes')).json, []);
  for (const era of ['not-a-uuid', 'eeeeeeee-1111-4111-8111-111111111111']) {
    const r = await h.call('GET', `/v1/state/nodes/by_era/${era}`);
    assert.equal([r.status, r.json], [404, { description: 'No node found with given era.' }]);
  }
  const nf = await h.call('GET', '/v1/nope');
  assert.is(nf.status, 404);
  assert.ok(typeof (nf.json as { description: string }).description === 'string');
  const na = await h.call('PUT', '/v1/configuration/datasets');
  assert.is(na.status, 405);
  assert.ok(typeof (na.json as { description: string }).description === 'string');
  const pct = await h.call('GET', '/v1/state/nodes/by_era/%E0%A4%A');
  assert.ok(pct.status < 500, `bad percent-encoding is not a 500 (${pct.status})`);
});

test('50 concurrent creates all land, each once', async () => {
  const results = await Promise.all(Array.from({ length: 50 }, () => h.call('POST', '/v1/configuration/datasets', { primary: N1 })));
  assert.ok(results.every((r) => r.status === 201));
  const ids = new Set(results.map((r) => (r.json as { dataset_id: string }).dataset_id));
  assert.is(ids.size, 50);
  const listed = ((await h.call('GET', '/v1/configuration/datasets')).json as { dataset_id: string }[]).map((d) => d.dataset_id);
  assert.equal(new Set(listed), ids);
});

test('changes persist: a new store on the same directory sees them', async () => {
  await h.call('POST', '/v1/configuration/datasets', { primary: N1, dataset_id: 'aaaaaaaa-1111-4111-8111-111111111111' });
  await h.call('POST', '/v1/configuration/leases', { dataset_id: 'aaaaaaaa-1111-4111-8111-111111111111', node_uuid: N1, expires: null });
  const tag = (await h.call('GET', '/v1/configuration/datasets')).headers.get('x-configuration-tag');
  const dir = h.dir;
  h.server.closeAllConnections();
  await new Promise((r) => h.server.close(r));
  await h.store.close();
  const h2 = await startApp({ dir });
  try {
    const list = await h2.call('GET', '/v1/configuration/datasets');
    assert.is((list.json as unknown[]).length, 1);
    assert.is(list.headers.get('x-configuration-tag'), tag, 'same configuration, same tag');
    assert.is(((await h2.call('GET', '/v1/configuration/leases')).json as unknown[]).length, 1);
  } finally {
    await h2.close();
    rmSync(dir, { recursive: true, force: true });
  }
  h = await startApp();
});

test('events: snapshot, a change, heartbeats; the subscription ends when the client goes', async () => {
  const hb = await startApp({ heartbeatMs: 50 });
  try {
    const ac = new AbortController();
    // A stream that never shows what is awaited fails the test instead of hanging it.
    const deadline = setTimeout(() => ac.abort(), 20_000);
    const res = await fetch(`${hb.base}/v1/events`, { signal: ac.signal });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (re: RegExp): Promise<void> => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(/^event: snapshot\ndata: .*\nid: [0-9a-f]+\.\d+\n\n/m);
    assert.ok(text.startsWith('event: snapshot\n'), 'snapshot comes first');
    assert.is(hb.hub.listenerCount('events'), 1);
    await hb.call('POST', '/v1/configuration/datasets', { primary: N1, metadata: { name: 'sse' } });
    await readUntil(/event: configuration\ndata: \{"at":\d+,"tag":"[^"]+","set":\[\{[^\n]*"sse"[^\n]*"removed":\[\]\}\n/);
    await readUntil(/event: convergence\ndata: \{"at":\d+,"set":\[\{[^\n]*"phase":"pending"[^\n]*\nid: [0-9a-f]+\.\d+\n\n/);
    await readUntil(/^: heartbeat$/m);
    clearTimeout(deadline);
    ac.abort();
    for (let i = 0; i < 50 && hb.hub.listenerCount('events') > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.is(hb.hub.listenerCount('events'), 0, 'listener removed on disconnect');
  } finally {
    await hb.close();
  }
});

test.run();
