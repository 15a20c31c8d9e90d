// Preloaded into every test file's process by build/test.mjs. The runner stops a file with
// SIGTERM (its deadline passed, or uvu finished with a handle left open); exiting through
// process.exit runs the 'exit' handlers the test helpers register, which kill the processes a
// test started and free its mounts, loop devices and namespaces. Node's default on SIGTERM would
// skip them and leave all of that behind.
for (const [sig, n] of [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1]]) {
  process.once(sig, () => process.exit(128 + n));
}
