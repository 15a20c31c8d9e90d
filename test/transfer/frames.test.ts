// The frame format cut back into frames whatever the read boundaries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  CHUNK_BYTES, FrameParser, KEEPALIVE_FRAME, chunkDigest, chunkDigestOffThread, dataHeader, endFrame, errorFrame, rootDigest, type Frame,
} from '../../src/transfer/protocol.js';

function stream(): { bytes: Buffer; chunks: Buffer[] } {
  const chunks = [randomBytes(1000), randomBytes(77)];
  const parts: Buffer[] = [KEEPALIVE_FRAME];
  let at = 0;
  for (const c of chunks) {
    parts.push(dataHeader(at, c.length, 0), c, chunkDigest(c), KEEPALIVE_FRAME);
    at += c.length;
  }
  parts.push(errorFrame('späť'), endFrame(at, rootDigest(at, chunks.map(chunkDigest))));
  return { bytes: Buffer.concat(parts), chunks };
}

test('frames survive any split of the byte stream', () => {
  const { bytes, chunks } = stream();
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: bytes.length }), { maxLength: 20 }), (cuts) => {
    const points = [...new Set(cuts)].sort((a, b) => a - b);
    const p = new FrameParser();
    const frames: Frame[] = [];
    let from = 0;
    for (const to of [...points, bytes.length]) {
      frames.push(...p.push(bytes.subarray(from, to)));
      from = to;
    }
    assert.equal(frames.map((f) => f.kind), ['keepalive', 'data', 'keepalive', 'data', 'keepalive', 'error', 'end']);
    const data = frames.filter((f): f is Extract<Frame, { kind: 'data' }> => f.kind === 'data');
    assert.equal(data.map((d) => Buffer.from(d.data)), chunks);
    assert.equal(data.map((d) => d.offset), [0, 1000]);
    const end = frames[6] as Extract<Frame, { kind: 'end' }>;
    assert.is(end.total, 1077);
    assert.ok(end.root.equals(rootDigest(1077, chunks.map(chunkDigest))));
    assert.is((frames[5] as Extract<Frame, { kind: 'error' }>).message, 'späť');
  }), { numRuns: 200 });
});

test('garbage is refused, not misread', () => {
  assert.throws(() => new FrameParser().push(Buffer.from('Z')), /unknown frame type/);
  assert.throws(() => new FrameParser().push(dataHeader(0, CHUNK_BYTES + 1, 0)), /chunk length/);
});

test('the off-thread digest is the same sha256', async () => {
  const b = randomBytes(12345);
  assert.ok((await chunkDigestOffThread(b)).equals(chunkDigest(b)));
});

test.run();
