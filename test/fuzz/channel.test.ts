// A fixed-seed sample of the agent channel fuzzing (`npm run fuzz` runs 10,000+ cases).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatResult, fuzzChannel, startWorld } from './surfaces.js';

test('agent channel: random and near-miss messages never close the channel or break the API', async () => {
  const w = await startWorld();
  try {
    const r = await fuzzChannel(w, { numRuns: Number(process.env.FUZZ_RUNS ?? 150), seed: 13 });
    console.log(formatResult(r));
    assert.ok(r.cases > 0);
  } finally {
    await w.close();
  }
});

test.run();
