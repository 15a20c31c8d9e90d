// The header's live mark says how old what the dashboard shows is: "● live" only under a second
// behind, else how far behind; and a burst of feed updates becomes one render.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statusText } from '../../src/ui/components/Header.js';
import { CoalescedFeed, type FeedState } from '../../src/ui/hooks/use-cluster-feed.js';
import { EMPTY_HISTORY } from '../../src/client/history.js';
import { until } from '../support/until.js';

test('"● live" under a second behind; otherwise how many seconds behind', () => {
  const live = (behindMs?: number) => statusText({ kind: 'live', address: 'c:4523', ...(behindMs !== undefined ? { behindMs } : {}) }, 0);
  assert.equal(live(), { text: '● live · c:4523', color: 'green' });
  assert.equal(live(0), { text: '● live · c:4523', color: 'green' });
  assert.equal(live(999), { text: '● live · c:4523', color: 'green' });
  assert.equal(live(1000), { text: '● 1 s behind · c:4523', color: 'yellow' });
  assert.equal(live(12_400), { text: '● 12 s behind · c:4523', color: 'yellow' });
  assert.is(statusText({ kind: 'live', behindMs: 65_000 }, 0).text, '● 65 s behind');
});

test('a burst of feed updates is handed to the renderer once, as it stands after the last', async () => {
  const published: FeedState[] = [];
  const feed = new CoalescedFeed((s) => published.push(s));
  for (let i = 0; i < 1000; i++) feed.update((s) => ({ ...s, status: { kind: 'live', behindMs: i } }));
  await until('the burst to be rendered', () => published.length > 0);
  assert.is(published.length, 1);
  assert.equal(published[0], { history: EMPTY_HISTORY, status: { kind: 'live', behindMs: 999 } });
  feed.close();
});

test.run();
