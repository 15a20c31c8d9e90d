import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { volumeSizeOption } from '../../src/roles/plugin/size.js';

const GiB = 1024 ** 3;

test('units are binary and case-insensitive, as the original', () => {
  const cases: [string, number][] = [
    ['100M', 100 * 1024 ** 2], ['100m', 100 * 1024 ** 2], ['100MB', 100 * 1024 ** 2], ['100MiB', 100 * 1024 ** 2],
    ['10G', 10 * GiB], ['10gib', 10 * GiB], ['1T', 1024 * GiB], ['1tb', 1024 * GiB],
    ['65536k', 64 * 1024 ** 2], ['65536KiB', 64 * 1024 ** 2], ['67108864', 67108864], [' 1g ', GiB],
  ];
  for (const [text, bytes] of cases) assert.equal(volumeSizeOption(text), { ok: true, bytes }, text);
});

test('anything the grammar does not match is refused with a sentence, not silently 75 GiB', () => {
  for (const text of ['foo10G', '10Gfoo', 'GIB', '10bar10', '', '1.5G', '-1G', '10 G B']) {
    const r = volumeSizeOption(text);
    assert.is(r.ok, false, text);
    if (!r.ok) assert.match(r.error, /invalid size/);
  }
});

test('sizes the API would reject are refused with the reason', () => {
  const small = volumeSizeOption('10M');
  assert.is(small.ok, false);
  if (!small.ok) assert.match(small.error, /at least 64 MiB/);
  const odd = volumeSizeOption('67108865');
  assert.is(odd.ok, false);
  if (!odd.ok) assert.match(odd.error, /multiple of 1024/);
  const huge = volumeSizeOption('99999999999999T');
  assert.is(huge.ok, false);
});

test.run();
