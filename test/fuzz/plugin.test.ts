// A fixed-seed sample of the Docker plugin socket fuzzing (`npm run fuzz` runs 10,000+ cases).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatResult, fuzzPlugin, startWorld } from './surfaces.js';

test('plugin socket: random and near-miss Docker calls always get an answer with an Err, the plugin stays up', async () => {
  const w = await startWorld({ plugin: true });
  try {
    const r = await fuzzPlugin(w, { numRuns: Number(process.env.FUZZ_RUNS ?? 120), seed: 13 });
    console.log(formatResult(r));
    assert.ok(r.cases > 0);
  } finally {
    await w.close();
  }
});

test.run();
