// --wait's progress output: a bar redrawn in place on a terminal, a plain line per step and per
// tenth of a transfer elsewhere.
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProgressLines } from '../../src/cli/format/operator.js';

const MiB = 1024 * 1024;

function sink(tty: boolean): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({ write(chunk, _enc, cb) { text += String(chunk); cb(); } });
  if (tty) Object.assign(out, { isTTY: true });
  return { out, text: () => text };
}

const step = (done: number) => ({ bytes_done: done * MiB, bytes_total: 100 * MiB, bytes_per_second: 10 * MiB });

test('not a terminal: one line per step and per tenth of a transfer', () => {
  const s = sink(false);
  const p = new ProgressLines(s.out);
  p.show('dataset d1: moving-in: copying', undefined);
  for (const done of [1, 2, 3, 9, 11, 12, 55, 100]) p.show('dataset d1: moving-in: copying', step(done));
  p.end();
  const lines = s.text().trimEnd().split('\n');
  assert.is(lines.length, 5, s.text());
  assert.match(lines[1]!, /^dataset d1: moving-in: copying: 1% \(1M of 100M\) at 10M\/s, ETA 10s$/);
  assert.match(lines[4]!, /100% \(100M of 100M\)/);
  assert.not.match(s.text(), /\r/);
});

test('a terminal: the bar is redrawn in place and the next step starts on a new line', () => {
  const s = sink(true);
  const p = new ProgressLines(s.out);
  p.show('dataset d1: moving-in: copying', step(25));
  p.show('dataset d1: moving-in: copying', step(50));
  p.show('dataset d1: converged', undefined);
  assert.is(s.text().split('\r\x1b[K').length, 3, JSON.stringify(s.text()));
  assert.match(s.text(), /\[##########\.{10}\] 50% \(50M of 100M\) at 10M\/s, ETA 5s\ndataset d1: converged\n$/);
});

test.run();
