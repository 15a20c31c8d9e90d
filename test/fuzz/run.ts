// npm run fuzz [-- SURFACE...]: property-based fuzzing of every surface against the real
// servers, FUZZ_RUNS cases each (default 10,000), from FUZZ_SEED (default: a fresh one, printed
// so a failure can be replayed). Prints the cases tried per surface and how they were answered.
import { formatResult, fuzzAgentYml, fuzzChannel, fuzzPlugin, fuzzRest, startWorld, SURFACES, type Surface, type SurfaceResult } from './surfaces.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 10_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const wanted = process.argv.slice(2);
const surfaces = SURFACES.filter((s) => wanted.length === 0 || wanted.includes(s));
if (surfaces.length === 0) {
  console.error(`fuzz: no such surface (choose from ${SURFACES.join(', ')})`);
  process.exit(2);
}
console.log(`fuzz: ${numRuns} cases per surface, seed ${seed} (replay with FUZZ_SEED=${seed})`);

const results: SurfaceResult[] = [];
let failed: { surface: Surface; error: unknown } | undefined;
const world = surfaces.some((s) => s !== 'agent-yml') ? await startWorld({ plugin: surfaces.includes('plugin') }) : undefined;
try {
  for (const s of surfaces) {
    try {
      const r = s === 'agent-yml' ? await fuzzAgentYml({ numRuns, seed })
        : s === 'rest' ? await fuzzRest(world!, { numRuns, seed })
        : s === 'plugin' ? await fuzzPlugin(world!, { numRuns, seed })
        : await fuzzChannel(world!, { numRuns, seed });
      results.push(r);
      console.log(formatResult(r));
    } catch (error) {
      failed = { surface: s, error };
      break;
    }
  }
} finally {
  await world?.close();
}
console.log(`\nfuzz: cases per surface: ${results.map((r) => `${r.surface} ${r.cases}`).join(', ')}`);
if (failed) {
  const e = failed.error;
  // fast-check keeps the property's own error as the cause.
  const cause = e instanceof Error && e.cause instanceof Error ? `\ncaused by: ${e.cause.stack ?? e.cause.message}` : '';
  console.error(`\nfuzz: ${failed.surface} FAILED (seed ${seed}):\n${e instanceof Error ? e.message : String(e)}${cause}`);
  process.exit(1);
}
