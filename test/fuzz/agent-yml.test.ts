// A fixed-seed sample of the agent.yml fuzzing (`npm run fuzz` runs 10,000+ cases).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatResult, fuzzAgentYml } from './surfaces.js';

test('agent.yml: any text is a configuration or one clear ConfigError line, never a crash', async () => {
  const r = await fuzzAgentYml({ numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: 13 });
  console.log(formatResult(r));
  assert.ok(r.cases > 0);
});

test.run();
