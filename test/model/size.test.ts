import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSize, parseDatasetSize, parseSize } from '../../src/model/size.js';

test('binary units in every spelling, a bare number is bytes', () => {
  for (const [text, bytes] of [['10G', 10 * 2 ** 30], ['10gib', 10 * 2 ** 30], ['512 MB', 512 * 2 ** 20], ['1t', 2 ** 40], ['4096', 4096]] as const) {
    assert.equal(parseSize(text, { decimals: false }), { ok: true, bytes }, text);
  }
});

test('decimals only where admitted', () => {
  assert.equal(parseSize('1.5G', { decimals: true }), { ok: true, bytes: 1.5 * 2 ** 30 });
  assert.equal(parseSize('1.5G', { decimals: false }), { ok: false, problem: 'malformed' });
});

test('malformed, zero and enormous sizes are told apart', () => {
  for (const text of ['G', '10Gfoo', 'foo10G', '10bar10', '']) {
    assert.equal(parseSize(text, { decimals: true }), { ok: false, problem: 'malformed' }, text);
  }
  assert.equal(parseSize('0', { decimals: false }), { ok: false, problem: 'not-positive' });
  assert.equal(parseSize('99999999999t', { decimals: false }), { ok: false, problem: 'too-large' });
});

test('dataset sizes: at least 64 MiB, whole KiB (rounded up only when asked)', () => {
  assert.equal(parseDatasetSize('10M', { decimals: false, roundUp: false }), { ok: false, problem: 'too-small' });
  assert.equal(parseDatasetSize('67108865', { decimals: false, roundUp: false }), { ok: false, problem: 'not-whole-kib' });
  assert.equal(parseDatasetSize('67108865', { decimals: false, roundUp: true }), { ok: true, bytes: 67108864 + 1024 });
  assert.equal(parseDatasetSize('ten', { decimals: true, roundUp: true }), { ok: false, problem: 'malformed' });
});

test('three styles from one formatter: short for columns, gib for flockerctl, exact for sentences', () => {
  assert.is(formatSize(512 * 2 ** 20, 'short'), '512M');
  assert.is(formatSize(1.5 * 2 ** 40, 'short'), '1.5T');
  assert.is(formatSize(80_530_636_800, 'short'), '75G');
  assert.is(formatSize(80_530_636_800, 'gib'), '75.00G');
  assert.is(formatSize(10 * 2 ** 30, 'exact'), '10 GiB');
  assert.is(formatSize(1.5 * 2 ** 30, 'exact'), '1536 MiB');
  assert.is(formatSize(1000, 'exact'), '1000 bytes');
});

test.run();
