// Preloaded into every test file's process by build/test.mjs. uvu 0.5 runs a suite's before and
// after hooks inside a try whose `finally` returns, so an error thrown by a hook is swallowed: the
// file shows "0 passed, N failed" with no word of why. Wrapping the default suite's hooks prints
// the error (then rethrows it, so uvu still fails the file). Suites made with `suite()` are not
// wrapped; our tests use the default `test`.
import { test } from 'uvu';

type Hook = Parameters<typeof test.before>[0];

function logging(kind: string, add: (fn: Hook) => void): (fn: Hook) => void {
  return (fn) => add(async (ctx) => {
    try {
      await fn(ctx);
    } catch (e) {
      process.stderr.write(`[${kind} hook failed] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      throw e;
    }
  });
}

test.before = Object.assign(logging('before', test.before), { each: test.before.each });
test.after = Object.assign(logging('after', test.after), { each: test.after.each });
