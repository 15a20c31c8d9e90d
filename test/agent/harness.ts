// Real processes for agent end-to-end tests: `flocker control` and `flocker agent`
// (node --import tsx src/main.ts ...), real certificates, a shared directory pool, bind mounts.
import { spawn, type ChildProcess } from 'node:child_process';
import { until } from '../support/until.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unexpose } from '../../src/backends/fsutil.js';
import { threadedFs } from '../../src/backends/pool-fs.js';
import { detachLoop, listLoops } from '../../src/sys/losetup.js';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import type { ControlClient } from '../../src/client/types.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { freePort } from '../support/ports.js';
import { releaseUnder } from '../support/teardown.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Proc {
  child: ChildProcess;
  log(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 60 s (a clean stop on a loaded machine can take many seconds); resolves the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/**
 * Every flocker process still running when the test process exits is killed, and what a test bed's
 * agents mounted and attached is freed, even after a failed test or the runner's timeout.
 */
const live = new Set<ChildProcess>();
const liveBeds = new Set<string>();
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const dir of liveBeds) {
    releaseUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

export function flocker(args: string[], env: Record<string, string> = {}): Proc {
  // FLOCKER_BIN=release/flocker runs the same tests against the built single executable.
  const bin = process.env.FLOCKER_BIN;
  const [cmd, argv] = bin ? [bin, args] : [process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), ...args]];
  const child = spawn(cmd, argv, {
    cwd: ROOT, env: { ...process.env, FLOCKER_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code, sig) => {
    live.delete(child);
    r(code ?? (sig ? -1 : null));
  }));
  let done = false;
  void exited.then(() => { done = true; });
  return {
    child, log: () => out, exited,
    async stop() {
      if (done) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    async kill9() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}

export { freePort };

export { until };

export interface AgentNode {
  uuid: string;
  config: string;
  mountRoot: string;
  proc?: Proc;
}

export interface TestBed {
  dir: string;
  certs: TestCerts;
  pool: string;
  apiPort: number;
  agentPort: number;
  control?: Proc;
  nodes: AgentNode[];
  client: ControlClient;
  /** `extra`: more `flocker control` flags (e.g. --metrics-listen, --node-timeout). */
  startControl(extra?: string[]): Promise<void>;
  startAgent(i: number): Proc;
  /** Everything that explains a stuck wait: state and convergence rows, pool and mount roots, logs. */
  diagnose(): Promise<string>;
  /** `until`, but a timeout carries diagnose() so a failure under load explains itself. */
  until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs?: number): Promise<T>;
  cleanup(): Promise<void>;
}

/** `ls -R`-like listing of a directory, for diagnostics; never throws. */
function listTree(dir: string, depth = 2): string[] {
  if (!existsSync(dir)) return [`${dir}: absent`];
  const out: string[] = [];
  const walk = (d: string, prefix: string, left: number): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch (e) {
      out.push(`${prefix}(${String(e)})`);
      return;
    }
    for (const n of names) {
      out.push(`${prefix}${n}`);
      if (left > 0) walk(join(d, n), `${prefix}${n}/`, left - 1);
    }
  };
  walk(dir, '  ', depth);
  return [`${dir}:`, ...out];
}

export async function makeTestBed(dir: string, nodes = 2, backend: 'directory' | 'loopback' = 'directory'): Promise<TestBed> {
  const certs = await makeCerts(join(dir, 'certs'), { nodes });
  const pool = join(dir, 'pool');
  mkdirSync(pool);
  const apiPort = await freePort();
  const agentPort = await freePort();
  const agentNodes: AgentNode[] = certs.nodes.map((n, i) => {
    const mountRoot = join(dir, `mnt${i}`);
    const config = join(dir, `agent${i}.yml`);
    writeFileSync(config, [
      'version: 1',
      `control-service: {hostname: 127.0.0.1, port: ${agentPort}}`,
      `dataset: {backend: ${backend}, root_path: ${pool}, mount_root: ${mountRoot}}`,
      `certificates-dir: ${n.certificatesDir}`,
      `state-dir: ${join(dir, `state${i}`)}`,
      '',
    ].join('\n'));
    return { uuid: n.uuid, config, mountRoot };
  });
  liveBeds.add(dir);
  const bed: TestBed = {
    dir, certs, pool, apiPort, agentPort, nodes: agentNodes,
    client: clientFromCertsDir({ host: '127.0.0.1', port: apiPort, certsPath: certs.dir, user: 'user' }),
    async startControl(extra: string[] = []) {
      const dataDir = join(dir, 'control');
      const info = join(dataDir, 'control.json');
      const p = flocker(['control', '--data-dir', dataDir, '--certificates-dir', certs.dir, '--api-port', String(apiPort), '--agent-port', String(agentPort), '--listen', '127.0.0.1', ...extra]);
      bed.control = p;
      await until('control to listen', () => {
        if (p.child.exitCode !== null) throw new Error(`control exited:\n${p.log()}`);
        if (!existsSync(info)) return undefined;
        const j = JSON.parse(readFileSync(info, 'utf8')) as { pid: number };
        return j.pid === p.child.pid ? true : undefined;
      }, 90_000); // tsx start-up on a loaded machine
    },
    startAgent(i: number) {
      const p = flocker(['agent', '--config', agentNodes[i]!.config]);
      agentNodes[i]!.proc = p;
      return p;
    },
    async diagnose() {
      const parts: string[] = [`--- diagnostics at ${new Date().toISOString()}`];
      const rows = async (what: string, f: () => Promise<unknown>): Promise<void> => {
        try {
          parts.push(`${what}: ${JSON.stringify(await f(), null, 1)}`);
        } catch (e) {
          parts.push(`${what}: (failed: ${String(e)})`);
        }
      };
      await rows('state/datasets', () => bed.client.stateDatasets());
      await rows('state/nodes', () => bed.client.stateNodes());
      await rows('configuration/datasets', () => bed.client.listDatasets());
      await rows('convergence', () => bed.client.convergence());
      parts.push(...listTree(pool), ...agentNodes.flatMap((n) => listTree(n.mountRoot, 0)));
      parts.push(`--- control log:\n${bed.control?.log() ?? '(not started)'}`);
      agentNodes.forEach((n, i) => parts.push(`--- agent ${i} (${n.uuid}) log:\n${n.proc?.log() ?? '(not started)'}`));
      return parts.join('\n');
    },
    async until(what, f, timeoutMs) {
      try {
        return await until(what, f, timeoutMs);
      } catch (e) {
        throw new Error(`${String(e instanceof Error ? e.message : e)}\n${await bed.diagnose()}`);
      }
    },
    async cleanup() {
      await Promise.all(agentNodes.map((n) => n.proc?.kill9()));
      await bed.control?.kill9();
      bed.client.close();
      for (const n of agentNodes) {
        if (!existsSync(n.mountRoot)) continue;
        for (const name of readdirSync(n.mountRoot)) await unexpose(threadedFs, join(n.mountRoot, name)).catch(() => undefined);
      }
      if (backend === 'loopback') {
        for (const l of await listLoops().catch(() => [])) {
          if (l.backingFile.startsWith(pool + '/')) await detachLoop(l.device).catch(() => undefined);
        }
      }
      liveBeds.delete(dir);
    },
  };
  return bed;
}

/**
 * A bed in a fresh temp folder with control and every node's agent running, returned once all
 * have reported; on a failure on the way it is removed again. Undo with removeTestBed().
 */
export async function startTestBed(name: string, backend: 'directory' | 'loopback' = 'directory'): Promise<TestBed> {
  const bed = await makeTestBed(await mkdtemp(join(tmpdir(), `flocker-${name}-`)), 2, backend);
  try {
    await bed.startControl();
    bed.nodes.forEach((_, i) => bed.startAgent(i));
    // Long: tsx start-up of three processes on a loaded machine.
    await bed.until('every agent to report', async () => ((await bed.client.stateNodes()).length === bed.nodes.length ? true : undefined), 180_000);
    return bed;
  } catch (e) {
    await removeTestBed(bed);
    throw e;
  }
}

/** Stops every process of the bed, releases its mounts and loop devices, removes its folder. */
export async function removeTestBed(bed: TestBed | undefined): Promise<void> {
  if (!bed) return;
  await bed.cleanup();
  await rm(bed.dir, { recursive: true, force: true });
}
