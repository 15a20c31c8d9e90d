// Long CLI output written as the reader takes it: the same bytes as building it whole, bounded
// memory, and a reader that goes away (EPIPE) ends the output quietly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough, Writable } from 'node:stream';
import { writeJsonArray, writeLines } from '../../src/cli/format/write-lines.js';
import { renderTable, writeTable } from '../../src/cli/format/table.js';

async function collect(write: (out: PassThrough) => Promise<void>): Promise<string> {
  const out = new PassThrough({ highWaterMark: 1024 });
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await write(out);
  out.end();
  return Buffer.concat(chunks).toString();
}

test('a streamed table is byte for byte the table built whole (emoji markers included)', async () => {
  const rows = Array.from({ length: 5_000 }, (_, i) => [`id-${i}`, `${i % 7} GiB`, i % 3 ? 'name=x' : '', i % 2 ? 'attached ✅' : 'pending ⌛']);
  const headers = ['DATASET', 'SIZE', 'METADATA', 'STATUS'];
  assert.is(await collect((o) => writeTable(o, headers, rows)), renderTable(headers, rows));
  assert.is(await collect((o) => writeTable(o, headers, [])), renderTable(headers, []));
});

test('a streamed JSON array is JSON.stringify(value, null, 2) plus a newline', async () => {
  const items = [{ a: 1, b: { c: [1, 2], d: 'x\ny' } }, { a: 2, b: null }, []];
  assert.is(await collect((o) => writeJsonArray(o, items)), `${JSON.stringify(items, null, 2)}\n`);
  assert.is(await collect((o) => writeJsonArray(o, [])), '[]\n');
});

test('100,000 rows wait for a slow reader instead of piling up in memory', async () => {
  let buffered = 0;
  let most = 0;
  const slow = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      buffered = slow.writableLength;
      most = Math.max(most, buffered);
      setImmediate(cb);
    },
  });
  await writeLines(slow, (function* () { for (let i = 0; i < 100_000; i++) yield `row ${i} ${'x'.repeat(60)}`; })());
  assert.ok(most < 256 * 1024, `at most ${most} bytes waited for the reader`);
});

test('a reader that goes away (EPIPE) ends the output without an error', async () => {
  let writes = 0;
  const gone = new Writable({
    write(_chunk, _enc, cb) {
      writes++;
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  await writeLines(gone, (function* () { for (let i = 0; i < 100_000; i++) yield `row ${i} ${'x'.repeat(60)}`; })());
  assert.is(writes, 1, 'stopped after the first failed write');
});

test('any other write error is reported', async () => {
  const broken = new Writable({ write(_chunk, _enc, cb) { cb(Object.assign(new Error('write EIO'), { code: 'EIO' })); } });
  try {
    await writeLines(broken, (function* () { for (let i = 0; i < 100_000; i++) yield `row ${i} ${'x'.repeat(60)}`; })());
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /EIO/);
  }
});

test.run();
