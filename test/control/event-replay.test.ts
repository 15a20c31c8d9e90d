import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventReplay } from '../../src/roles/control/event-replay.js';

const a = (generation: number, json = '{"at":1,"set":[],"removed":[]}') => ({ generation, events: [['configuration', json] as const] });

test('nothing is resumable before keeping starts, nor from before it started', () => {
  const r = new EventReplay(10, 1000);
  r.record(a(1));
  assert.is(r.after(0, 1), undefined);
  r.start(2);
  r.record(a(3));
  r.record(a(4));
  assert.is(r.after(1, 4), undefined, 'changes made before keeping started were never worked out');
  assert.equal(r.after(2, 4)?.map((x) => x.generation), [3, 4]);
  assert.equal(r.after(3, 4)?.map((x) => x.generation), [4]);
  assert.equal(r.after(4, 4), []);
  assert.is(r.after(5, 4), undefined, 'a generation not made yet');
});

test('the oldest go first, by count and by bytes, and resuming from before them gets undefined', () => {
  const r = new EventReplay(3, 1000);
  r.start(0);
  for (let g = 1; g <= 5; g++) r.record(a(g));
  assert.is(r.after(1, 5), undefined);
  assert.equal(r.after(2, 5)?.map((x) => x.generation), [3, 4, 5]);
  const b = new EventReplay(100, 50);
  b.start(0);
  b.record(a(1, 'x'.repeat(30)));
  b.record(a(2, 'y'.repeat(30)));
  assert.is(b.after(0, 2), undefined);
  assert.equal(b.after(1, 2)?.map((x) => x.generation), [2]);
});

test('stopping forgets everything', () => {
  const r = new EventReplay(10, 1000);
  r.start(0);
  r.record(a(1));
  r.stop();
  assert.is(r.keeping, false);
  assert.is(r.after(1, 1), undefined);
});

test.run();
