// Crash loops with real processes, shared by `npm run torture` (big) and test/safety (small):
// - kill -9 the control service while it answers many parallel creates, restart it, and check
//   that every create it acknowledged is still there;
// - let agents crash (SIGKILL) right after each action of a move, restart them each time, and
//   check the move still completes with the data intact.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { flocker, makeTestBed, type TestBed } from '../agent/harness.js';
import { startControl, type ControlProcess } from '../control/process-harness.js';
import { makeCerts } from '../support/certs.js';

export interface ControlCrashOptions {
  readonly iterations: number;
  readonly creates: number;
  readonly log: (line: string) => void;
}

/** Returns the number of iterations in which every acknowledged create survived (throws on the first that did not). */
export async function controlCrashLoop(o: ControlCrashOptions): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-torture-control-'));
  let control: ControlProcess | undefined;
  try {
    const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
    const dataDir = join(dir, 'data');
    const primary = certs.nodes[0]!.uuid;
    const acknowledged = new Set<string>();
    let passed = 0;
    for (let i = 1; i <= o.iterations; i++) {
      control = await startControl(dataDir, certs.dir);
      const client = clientFromCertsDir({ host: '127.0.0.1', port: control.apiPort, certsPath: certs.dir, user: 'user', timeoutMs: 30_000 });
      // Everything acknowledged so far, by this run or an earlier one, must be here after a restart.
      const listed = new Set((await client.listDatasets()).datasets.map((d) => d.dataset_id));
      const lost = [...acknowledged].filter((id) => !listed.has(id));
      if (lost.length > 0) throw new Error(`iteration ${i}: ${lost.length} acknowledged creates lost after kill -9, e.g. ${lost[0]}`);
      if (i > 1) {
        passed++;
        o.log(`control crash loop: iteration ${i - 1} passed (${acknowledged.size} acknowledged creates all present)`);
      }
      if (i === o.iterations + 1) break;
      // Kill once a random share of this burst has been answered: mid-burst, never before or after.
      const killAt = Math.max(1, Math.floor(o.creates * (0.1 + 0.6 * Math.random())));
      let answered = 0;
      let killed: Promise<void> | undefined;
      const c = control;
      await Promise.allSettled(Array.from({ length: o.creates }, async () => {
        const id = randomUUID();
        await client.createDataset({ dataset_id: id, primary, maximum_size: 67108864 });
        acknowledged.add(id);
        if (++answered === killAt) killed = c.kill9();
      }));
      await (killed ?? c.kill9());
      client.close();
      control = undefined;
    }
    control = await startControl(dataDir, certs.dir);
    const client = clientFromCertsDir({ host: '127.0.0.1', port: control.apiPort, certsPath: certs.dir, user: 'user', timeoutMs: 30_000 });
    const listed = new Set((await client.listDatasets()).datasets.map((d) => d.dataset_id));
    client.close();
    const lost = [...acknowledged].filter((id) => !listed.has(id));
    if (lost.length > 0) throw new Error(`last iteration: ${lost.length} acknowledged creates lost after kill -9, e.g. ${lost[0]}`);
    passed++;
    o.log(`control crash loop: iteration ${o.iterations} passed (${acknowledged.size} acknowledged creates all present)`);
    return passed;
  } finally {
    await control?.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MoveCrashOptions {
  readonly backend: 'directory' | 'loopback';
  /** Round trips node 0 → node 1 → node 0 … */
  readonly moves: number;
  readonly log: (line: string) => void;
}

export interface MoveCrashResult {
  readonly movesPassed: number;
  /** Agent crashes survived (one after every action of every move). */
  readonly crashes: number;
}

/** Every action of every move crashes its agent; restarted each time, the moves complete with the data intact. */
export async function moveCrashLoop(o: MoveCrashOptions): Promise<MoveCrashResult> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-torture-move-'));
  let bed: TestBed | undefined;
  let crashes = 0;
  let stopping = false;
  try {
    bed = await makeTestBed(dir, 2, o.backend);
    const b = bed;
    // An agent that dies after every action and restarts under tsx on a loaded machine can be
    // silent for more than the default 30 s; a plain move off it would then (rightly) need
    // force. This loop is about crashes, not about nodes that are gone.
    await b.startControl(['--node-timeout', '3600']);
    b.startAgent(0);
    b.startAgent(1);
    const [n0, n1] = [b.nodes[0]!.uuid, b.nodes[1]!.uuid];
    const id = (await b.client.createDataset({ primary: n0, maximum_size: 67108864 })).dataset_id;
    await b.until('the dataset mounted on node 0', async () => (await b.client.stateDatasets()).some((s) => s.dataset_id === id && s.primary === n0), 120_000);
    const content = `torture ${randomUUID()}\n`;
    writeFileSync(join(b.nodes[0]!.mountRoot, id, 'data.txt'), content);

    // From here on every agent dies after each action; a supervisor restarts it.
    const supervise = (i: number): void => {
      const p = flocker(['agent', '--config', b.nodes[i]!.config], { FLOCKER_TEST_CRASH_AFTER_EACH_ACTION: '1' });
      b.nodes[i]!.proc = p;
      void p.exited.then(() => {
        if (stopping) return;
        crashes++;
        supervise(i);
      });
    };
    await Promise.all([b.nodes[0]!.proc!.stop(), b.nodes[1]!.proc!.stop()]);
    supervise(0);
    supervise(1);

    let movesPassed = 0;
    for (let m = 1; m <= o.moves; m++) {
      const [to, toIndex] = m % 2 === 1 ? [n1, 1] : [n0, 0];
      const before = crashes;
      await b.client.moveDataset(id, to);
      await b.until(`move ${m} to converge`, async () => {
        const [state, rows] = await Promise.all([b.client.stateDatasets(), b.client.convergence()]);
        return state.some((s) => s.dataset_id === id && s.primary === to) && rows.some((r) => r.dataset_id === id && r.phase === 'converged');
      }, 600_000); // every action costs an agent restart: slow on a loaded machine, bounded all the same
      const found = readFileSync(join(b.nodes[toIndex]!.mountRoot, id, 'data.txt'), 'utf8');
      if (found !== content) throw new Error(`move ${m}: data differs after the crashes: ${JSON.stringify(found)}`);
      movesPassed++;
      o.log(`move crash loop (${o.backend}): move ${m} passed after ${crashes - before} agent crashes, data identical`);
    }
    return { movesPassed, crashes };
  } finally {
    stopping = true;
    await bed?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
