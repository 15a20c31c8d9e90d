// npm start: build release/flocker when its inputs changed, then run a local cluster with the
// dashboard: `release/flocker cluster up` (extra arguments are passed on: npm start -- --nodes 2).
import { spawn } from 'node:child_process';
import { build, RELEASE, ROOT } from './build.js';

async function main(): Promise<number> {
  try {
    await build();
  } catch (e) {
    process.stderr.write(`npm start: the build failed, so there is nothing to start: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const args = ['cluster', 'up', ...process.argv.slice(2)];
  process.stdout.write(`npm start: ${RELEASE} ${args.join(' ')}\n`);
  const child = spawn(RELEASE, args, { cwd: ROOT, stdio: 'inherit' });
  // Ctrl-C reaches the whole terminal process group; flocker stops the cluster itself, and we
  // must stay alive until it has, to report how it ended.
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  const code = await new Promise<number>((resolve) => {
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    child.once('error', (e) => {
      process.stderr.write(`npm start: cannot run ${RELEASE}: ${e.message}\n`);
      resolve(1);
    });
  });
  return code;
}

process.exitCode = await main();
