// A fixed-seed sample of the REST API fuzzing (`npm run fuzz` runs 10,000+ cases).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatResult, fuzzRest, startWorld } from './surfaces.js';

test('REST API: random and near-miss requests on every route get no 5xx, no dropped connection, store nothing when refused', async () => {
  const w = await startWorld();
  try {
    const r = await fuzzRest(w, { numRuns: Number(process.env.FUZZ_RUNS ?? 150), seed: 13 });
    console.log(formatResult(r));
    assert.ok(r.cases > 0);
  } finally {
    await w.close();
  }
});

test.run();
