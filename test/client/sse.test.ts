import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SseParser, toClusterEvent, type SseMessage } from '../../src/client/sse.js';

function parseAll(chunks: string[]): SseMessage[] {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
}

test('event and data lines, blank line dispatches, comments (heartbeats) ignored', () => {
  const msgs = parseAll([': hello\n\nevent: state\ndata: [1,2]\n\n: ping\n\nevent: nodes\ndata: []\n\n']);
  assert.equal(msgs, [{ event: 'state', data: '[1,2]' }, { event: 'nodes', data: '[]' }]);
});

test('chunks split anywhere, including inside CRLF', () => {
  const text = 'event: leases\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: nodes\rdata: []\r\r';
  const whole = parseAll([text]);
  assert.equal(whole, [{ event: 'leases', data: '{"a":\n1}' }, { event: 'nodes', data: '[]' }]);
  for (let cut = 1; cut < text.length; cut++) {
    assert.equal(parseAll([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut}`);
  }
  assert.equal(parseAll(text.split('')), whole);
});

test('a line spanning thousands of chunks (a snapshot of 100,000 datasets) arrives whole', () => {
  const data = JSON.stringify({ rows: Array.from({ length: 50_000 }, (_, i) => ({ id: i, name: `v${i}` })) });
  const text = `event: snapshot\r\ndata: ${data}\r\n\r\nevent: tick\ndata: {}\n\n`;
  const p = new SseParser();
  const out: SseMessage[] = [];
  // 997-character chunks: the long line comes in ~1,200 pieces.
  for (let i = 0; i < text.length; i += 997) out.push(...p.push(text.slice(i, i + 997)));
  assert.equal(out.map((m) => m.event), ['snapshot', 'tick']);
  assert.is(out[0]!.data, data);
});

test('default event type, id, no-space values, unknown fields, data-less messages', () => {
  assert.equal(parseAll(['data:x\nid: 7\nretry: 10\nfoo: bar\n\n']), [{ event: 'message', data: 'x', id: '7' }]);
  assert.equal(parseAll(['event: state\n\n']), []);
  assert.equal(parseAll(['data\n\n']), [{ event: 'message', data: '' }]);
});

test('a leading byte order mark is skipped', () => {
  assert.equal(parseAll(['', '\uFEFFevent: nodes\ndata: []\n\n']), [{ event: 'nodes', data: '[]' }]);
});

test('an unterminated message at the end is dropped', () => {
  const p = new SseParser();
  assert.equal(p.push('event: state\ndata: []\n'), []);
  p.end();
  assert.equal(p.push('\n'), []);
});

test('toClusterEvent keeps known types with JSON data, skips the rest', () => {
  assert.equal(toClusterEvent({ event: 'state', data: '{"at":1,"set":[],"removed":[]}' }), { type: 'state', data: { at: 1, set: [], removed: [] } });
  assert.equal(toClusterEvent({ event: 'configuration', data: '{"at":1,"tag":"t","set":[],"removed":["x"]}' }), {
    type: 'configuration', data: { at: 1, tag: 't', set: [], removed: ['x'] },
  });
  assert.equal(toClusterEvent({ event: 'tick', data: '{"at":5}' }), { type: 'tick', data: { at: 5 } });
  assert.is(toClusterEvent({ event: 'future-thing', data: '{}' }), undefined);
  assert.is(toClusterEvent({ event: 'state', data: 'not json' }), undefined);
  assert.is(toClusterEvent({ event: 'state', data: '3' }), undefined);
});

test.run();
