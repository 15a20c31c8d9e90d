// Every agent-channel message passes one compiled schema at each end: malformed ones are refused
// with a problem naming the field, additive fields from a newer peer pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentMessage, parseControlMessage } from '../../src/protocol/channel-messages.js';

const refused = (r: { ok: boolean; problem?: string }): string => {
  assert.is(r.ok, false);
  return r.problem ?? '';
};

test('hello: version and era are checked, name is optional and passes', () => {
  assert.equal(parseAgentMessage('{"type":"hello","version":1,"era":"b"}'), { ok: true, message: { type: 'hello', version: 1, era: 'b' } });
  assert.equal(parseAgentMessage('{"type":"hello","version":1,"era":"b","name":"db-1"}'),
    { ok: true, message: { type: 'hello', version: 1, era: 'b', name: 'db-1' } });
  assert.is(refused(parseAgentMessage('{"type":"hello","version":2,"era":"b"}')), 'version: must be 1 (got 2)');
  assert.is(refused(parseAgentMessage('{"type":"hello","version":1,"era":""}')), 'era: must not be empty');
  assert.is(refused(parseAgentMessage('{"type":"hello","version":1,"era":"b","name":7}')), 'name: must be a string');
});

test('report: a malformed report names the field; extra fields pass', () => {
  const ok = parseAgentMessage(JSON.stringify({ type: 'report', report: { manifestations: [], nonManifest: [], progress: [], future: 1 } }));
  assert.is(ok.ok, true);
  assert.is(refused(parseAgentMessage(JSON.stringify({ type: 'report', report: { manifestations: [{ datasetId: 'x', path: 1, maximumSize: null }], nonManifest: [], progress: [] } }))),
    'report.manifestations.0.path: must be a string');
  assert.match(refused(parseAgentMessage(JSON.stringify({ type: 'report', report: { manifestations: [], nonManifest: [], progress: [{ datasetId: 'x', phase: 'dancing', reason: '', since: 1 }] } }))),
    /report\.progress\.0\.phase: unknown phase "dancing"/);
});

test('not JSON, not an object, unknown type: refused, each with one problem', () => {
  assert.is(refused(parseAgentMessage('{')), 'not JSON');
  assert.is(refused(parseAgentMessage('[1]')), 'message: must be an object');
  assert.is(refused(parseAgentMessage('{"type":"nope"}')), 'type: unknown type "nope" (choose "hello", "report", "resync")');
  assert.is(refused(parseAgentMessage('{}')), 'type: required key is missing');
});

test('control messages: a cluster push is checked down to its datasets and nodes', () => {
  const push = {
    type: 'cluster', generation: 3, now: 5,
    configuration: { datasets: { d: { datasetId: 'd', primary: 'n', deleted: false, maximumSize: null, metadata: { a: 'b' } } }, leases: {} },
    cluster: { nodes: { n: { uuid: 'n', host: 'h', era: 'e', lastSeen: 1, connected: true, report: null, name: 'x' } } },
  };
  assert.equal(parseControlMessage(JSON.stringify(push)), { ok: true, message: push });
  assert.equal(parseControlMessage('{"type":"refused","reason":"taken"}'), { ok: true, message: { type: 'refused', reason: 'taken' } });
  const bad = { ...push, configuration: { ...push.configuration, datasets: { d: { ...push.configuration.datasets.d, metadata: { a: 1 } } } } };
  assert.is(refused(parseControlMessage(JSON.stringify(bad))), 'configuration.datasets.d.metadata.a: must be a string');
  const badNode = { ...push, cluster: { nodes: { n: { ...push.cluster.nodes.n, report: { manifestations: 1 } } } } };
  assert.match(refused(parseControlMessage(JSON.stringify(badNode))), /cluster\.nodes\.n\.report\.manifestations: must be an array/);
  assert.is(refused(parseControlMessage('{"type":"refused"}')), 'reason: required key is missing');
});

test('deltas and resync: checked like the rest', () => {
  const delta = { type: 'delta', from: 1, generation: 2, now: 3, changes: { datasets: { remove: ['d'] }, nodes: { set: {} } } };
  assert.equal(parseControlMessage(JSON.stringify(delta)), { ok: true, message: delta });
  assert.is(refused(parseControlMessage(JSON.stringify({ ...delta, changes: { leases: { remove: [7] } } }))), 'changes.leases.remove.0: must be a string');
  assert.equal(parseAgentMessage('{"type":"resync"}'), { ok: true, message: { type: 'resync' } });
});

test.run();
