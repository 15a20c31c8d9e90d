// A test that cannot run here (not root, no tmux, no Docker) says so with these, and the test
// runner (build/test.mjs) counts it as skipped, never as passed.

/** Printed by a registered test that returns early: the runner moves it from passed to skipped. */
export const SKIPPED_TEST_MARK = '[skipped test]';
/** Printed where a group of tests is not even registered: the runner counts it as one skipped. */
export const SKIPPED_SUITE_MARK = '[skipped suite]';

/** Call, then return, from a test that cannot run here. */
export function skipTest(reason: string): void {
  console.log(`${SKIPPED_TEST_MARK} ${reason}`);
}

/** Call instead of registering a group of tests that cannot run here. */
export function skipSuite(reason: string): void {
  console.log(`${SKIPPED_SUITE_MARK} ${reason}`);
}
