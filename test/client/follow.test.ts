// The one follower and its backoff, against the dashboard's scripted fake stream: snapshot then
// changes, a lost stream reported with the next wait, and the backoff reset by a fresh snapshot.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Backoff } from '../../src/client/backoff.js';
import { followCluster, type FeedUpdate } from '../../src/client/follow.js';
import { parseControlServices } from '../../src/cli/connection.js';
import { fakeClient, sampleSnapshot } from '../ui/fake-client.js';

test('backoff doubles up to its cap, jitters ±20%, and resets', () => {
  const mid = new Backoff({ initialMs: 100, maxMs: 500 }, () => 0.5);
  assert.equal([1, 2, 3, 4, 5].map(() => mid.next()), [100, 200, 400, 500, 500]);
  assert.is(mid.attempt, 5);
  mid.reset();
  assert.is(mid.next(), 100);
  assert.is(new Backoff({ initialMs: 100, maxMs: 500 }, () => 0).next(), 80);
  assert.is(new Backoff({ initialMs: 100, maxMs: 500 }, () => 1).next(), 120);
});

test('the follower yields the snapshot, then each change with the snapshot before it', async () => {
  const c = fakeClient();
  const abort = new AbortController();
  const got: FeedUpdate[] = [];
  const snap = sampleSnapshot();
  c.push({ type: 'snapshot', data: snap });
  c.push({ type: 'nodes', data: { at: snap.at + 5, nodes: [] } });
  for await (const u of followCluster(c, { signal: abort.signal })) {
    got.push(u);
    if (got.length === 2) break;
  }
  assert.equal(got.map((u) => u.kind), ['event', 'event']);
  const [first, second] = got as Extract<FeedUpdate, { kind: 'event' }>[];
  assert.is(first!.before, undefined);
  assert.equal(second!.before, first!.snapshot);
  assert.equal(second!.snapshot.nodes, []);
  assert.is(c.active, 0, 'breaking out closes the stream');
});

test('a lost stream is reported with the next wait and where; a fresh snapshot resets the backoff', async () => {
  const c = fakeClient();
  const abort = new AbortController();
  const lost: Extract<FeedUpdate, { kind: 'lost' }>[] = [];
  c.fail('boom');
  let events = 0;
  for await (const u of followCluster(c, { signal: abort.signal, backoff: { initialMs: 5, maxMs: 20 }, random: () => 0.5 })) {
    if (u.kind === 'lost') {
      lost.push(u);
      if (lost.length === 1) c.fail('boom again');
      else if (lost.length === 2) c.push({ type: 'snapshot', data: sampleSnapshot() });
      else if (lost.length === 3) break;
      continue;
    }
    events += 1;
    c.fail('after the snapshot');
  }
  assert.is(events, 1);
  assert.equal(lost.map((l) => [l.retryInMs, l.attempt]), [[5, 1], [10, 2], [5, 1]]);
  assert.match(lost[0]!.reason, 'boom');
  assert.is(lost[0]!.address, 'fake-control:4523');
});

test('the follower says which datasets an event touched, and how far behind the server it is, whatever the clock skew', async () => {
  const c = fakeClient();
  const abort = new AbortController();
  const snap = sampleSnapshot();
  // Our clock is an hour ahead of the server's; the snapshot comes at once, later events late.
  const skew = 3_600_000;
  const local = [snap.at + skew + 3, snap.at + skew + 2_503, snap.at + skew + 2_600];
  c.push({ type: 'snapshot', data: snap });
  c.push({ type: 'state', data: { at: snap.at + 500, set: [{ dataset_id: 'x' }], removed: ['y'] } });
  c.push({ type: 'tick', data: { at: snap.at + 2_000 } });
  const got: Extract<FeedUpdate, { kind: 'event' }>[] = [];
  for await (const u of followCluster(c, { signal: abort.signal, now: () => local[got.length]! })) {
    if (u.kind === 'event') got.push(u);
    if (got.length === 3) break;
  }
  assert.equal(got.map((u) => u.behindMs), [0, 2_000, 597]);
  assert.is(got[0]!.changed, undefined, 'a snapshot: compare everything');
  assert.equal([...got[1]!.changed!].sort(), ['x', 'y']);
  assert.equal([...got[2]!.changed!], []);
  assert.is(got[2]!.snapshot.at, snap.at + 2_000);
  assert.equal(got[2]!.snapshot.state.map((s) => s.dataset_id), [...snap.state.map((s) => s.dataset_id), 'x']);
});

test('--control-service: HOST or HOST:PORT, several separated by commas, IPv6 in brackets', () => {
  assert.equal(parseControlServices('a, b:4623 ,[::1]:9,fe80::1', 4523), [
    { host: 'a', port: 4523 }, { host: 'b', port: 4623 }, { host: '::1', port: 9 }, { host: 'fe80::1', port: 4523 },
  ]);
  assert.throws(() => parseControlServices('a,,b', 4523), /"" is not HOST or HOST:PORT/);
  assert.throws(() => parseControlServices('a:70000', 4523), /port in "a:70000" must be from 1 to 65535/);
});

test.run();
