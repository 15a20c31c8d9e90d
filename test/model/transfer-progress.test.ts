import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeTransfer, transferBar } from '../../src/model/transfer-progress.js';

const MiB = 1024 * 1024;

test('a bar shows the share done, sizes, rate and time left', () => {
  assert.is(transferBar({ bytes_done: 64 * MiB, bytes_total: 256 * MiB, bytes_per_second: 32 * MiB }, 8),
    '[##......] 25% (64M of 256M) at 32M/s, ETA 6s');
});

test('long transfers give minutes and hours; a stalled one says it does not know', () => {
  assert.match(describeTransfer({ bytes_done: 0, bytes_total: 1000 * MiB, bytes_per_second: MiB }), /ETA 16m40s$/);
  assert.match(describeTransfer({ bytes_done: 0, bytes_total: 10000 * MiB, bytes_per_second: MiB }), /ETA 2h46m$/);
  assert.match(describeTransfer({ bytes_done: 1, bytes_total: 2, bytes_per_second: 0 }), /ETA unknown$/);
});

test('odd figures from a peer never break the bar', () => {
  assert.is(transferBar({ bytes_done: 10, bytes_total: 0, bytes_per_second: 0 }, 4), '[....] 0% (10B of 0B) at 0B/s, ETA 0s');
  assert.is(transferBar({ bytes_done: 300, bytes_total: 200, bytes_per_second: 5 }, 4), '[####] 100% (300B of 200B) at 5B/s, ETA 0s');
});

test.run();
