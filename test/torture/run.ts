// `npm run torture`: the crash loops at full size. Prints what passed; exits non-zero on a loss.
import { controlCrashLoop, moveCrashLoop } from './loops.js';

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const iterations = Number(process.env.TORTURE_ITERATIONS ?? 20);
const creates = Number(process.env.TORTURE_CREATES ?? 200);
const moves = Number(process.env.TORTURE_MOVES ?? 4);
const backends = (process.env.TORTURE_BACKENDS ?? (process.getuid?.() === 0 ? 'directory,loopback' : 'directory')).split(',') as ('directory' | 'loopback')[];

try {
  if (iterations > 0) {
    const passed = await controlCrashLoop({ iterations, creates, log });
    log(`control kill -9 during ${creates} parallel creates: ${passed}/${iterations} iterations passed`);
  }
  for (const backend of backends) {
    const r = await moveCrashLoop({ backend, moves, log });
    log(`agent crash after every action of a move (${backend}): ${r.movesPassed}/${moves} moves passed, ${r.crashes} crashes survived`);
  }
} catch (e) {
  process.stderr.write(`torture FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
