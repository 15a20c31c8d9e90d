import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSizeShort, parseSizeText } from '../../src/model/size.js';

test('binary units in every spelling, a bare number is bytes', () => {
  for (const [text, bytes] of [['10G', 10 * 2 ** 30], ['10gib', 10 * 2 ** 30], ['512 MB', 512 * 2 ** 20], ['1t', 2 ** 40], ['4096', 4096]] as const) {
    assert.equal(parseSizeText(text, { decimals: false }), { ok: true, bytes }, text);
  }
});

test('decimals only where admitted', () => {
  assert.equal(parseSizeText('1.5G', { decimals: true }), { ok: true, bytes: 1.5 * 2 ** 30 });
  assert.equal(parseSizeText('1.5G', { decimals: false }), { ok: false, problem: 'malformed' });
});

test('malformed, zero and enormous sizes are told apart', () => {
  for (const text of ['G', '10Gfoo', 'foo10G', '10bar10', '']) {
    assert.equal(parseSizeText(text, { decimals: true }), { ok: false, problem: 'malformed' }, text);
  }
  assert.equal(parseSizeText('0', { decimals: false }), { ok: false, problem: 'not-positive' });
  assert.equal(parseSizeText('99999999999t', { decimals: false }), { ok: false, problem: 'too-large' });
});

test('short format for narrow columns', () => {
  assert.is(formatSizeShort(undefined), '-');
  assert.is(formatSizeShort(512 * 2 ** 20), '512M');
  assert.is(formatSizeShort(1.5 * 2 ** 40), '1.5T');
  assert.is(formatSizeShort(80_530_636_800), '75G');
});

test.run();
