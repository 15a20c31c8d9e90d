// The progress a pull reports: rate-limited, but never stuck on an old figure while the pull waits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProgressMeter, type TransferProgress } from '../../src/transfer/progress-meter.js';
import { until } from '../support/until.js';

test('a report held back by the rate limit is delivered once the interval ends', async () => {
  const seen: TransferProgress[] = [];
  const m = new ProgressMeter((p) => seen.push(p));
  m.start(0, 100);
  m.report(10, 0);
  m.report(20, 0);
  m.report(30, 0);
  assert.equal(seen.map((p) => p.bytesDone), [10], 'the burst after the first report is held back');
  await until('the held-back report', () => seen.length === 2, 10_000);
  assert.is(seen[1]!.bytesDone, 30, 'the latest figure, not the first held back');
  assert.is(seen[1]!.bytesTotal, 100);
});

test('a forced report (the last of a pull) goes out at once despite the rate limit', () => {
  const seen: number[] = [];
  const m = new ProgressMeter((p) => seen.push(p.bytesDone));
  m.start(0, null);
  m.report(1, 0);
  m.report(2, 0);
  m.report(3, 3, true);
  assert.equal(seen, [1, 3]);
  m.stop();
});

test.run();
