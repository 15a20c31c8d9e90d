import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isUuid, isUuidV4, resolveNode, resolvePrefix, UUID_SOURCE } from '../../src/model/ids.js';

test('UUIDv4 pattern accepts v4 in either case and refuses other versions', () => {
  assert.ok(isUuidV4('7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f'));
  assert.ok(isUuidV4('7F5B5C1E-3C2A-4B1D-AE8F-0A1B2C3D4E5F'));
  assert.not.ok(isUuidV4('7f5b5c1e-3c2a-3b1d-9e8f-0a1b2c3d4e5f'));
  assert.not.ok(isUuidV4('10.0.0.1'));
});

test('resolvePrefix finds a unique prefix and names ambiguity and misses like flockerctl', () => {
  const ids = ['aaaa1111', 'aaaa2222', 'bbbb3333'];
  assert.equal(resolvePrefix('b', ids, 'node'), { ok: true, id: 'bbbb3333' });
  assert.equal(resolvePrefix('aaaa', ids, 'node'), { ok: false, reason: 'ambiguous', message: 'aaaa is ambiguous node' });
  assert.equal(resolvePrefix('c', ids, 'dataset'), { ok: false, reason: 'no-match', message: 'no dataset uuids matching c' });
  assert.equal(resolvePrefix('AAAA1111', ids, 'node'), { ok: true, id: 'aaaa1111' });
});

test('one UUID pattern: any version for certificates, v4 for the API, a fragment for larger names', () => {
  const v1 = 'c232ab00-9414-11ec-b3c8-9f6bdeced846';
  assert.ok(isUuid(v1));
  assert.not.ok(isUuidV4(v1));
  assert.ok(isUuid(v1.toUpperCase()));
  assert.not.ok(isUuid(`${v1}0`));
  assert.ok(new RegExp(`^block-(${UUID_SOURCE})_7$`).test(`block-${v1}_7`));
});

test('--node by name or uuid prefix; ambiguity is refused with a sentence', () => {
  const nodes = [
    { uuid: 'aaaa1111-0000-4000-8000-000000000000', name: 'db-1' },
    { uuid: 'bbbb2222-0000-4000-8000-000000000000', name: 'Web' },
    { uuid: 'cccc3333-0000-4000-8000-000000000000' },
    { uuid: 'dddd4444-0000-4000-8000-000000000000', name: 'cccc' },
  ];
  assert.equal(resolveNode('db-1', nodes), { ok: true, id: nodes[0]!.uuid });
  assert.equal(resolveNode('web', nodes), { ok: true, id: nodes[1]!.uuid }, 'names are case-insensitive');
  assert.equal(resolveNode('bbbb', nodes), { ok: true, id: nodes[1]!.uuid });
  assert.equal(resolveNode('zzz', nodes), { ok: false, reason: 'no-match', message: 'no node uuids matching zzz' });
  const both = resolveNode('cccc', nodes);
  assert.equal(both, { ok: false, reason: 'ambiguous', message: 'cccc is ambiguous node: it names cccc (dddd4444) and starts the uuid of cccc3333' });
  const twice = resolveNode('db-1', [...nodes, { uuid: 'eeee5555-0000-4000-8000-000000000000', name: 'DB-1' }]);
  assert.equal(twice, { ok: false, reason: 'ambiguous', message: 'db-1 is ambiguous node: 2 nodes are named so (aaaa1111, eeee5555); give a uuid prefix' });
});

test.run();
