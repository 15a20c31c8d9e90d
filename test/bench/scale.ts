// Size figures (printed, never asserted):
//  - the planner alone (pure) for an agent holding 1,000 datasets in a 10,000-dataset cluster:
//    all converged, all to create, all to hand over to another node;
//  - a real `flocker control` process holding 10,000 datasets (BENCH_SCALE_DATASETS=10000,100000
//    for more) with one agent reporting them all mounted: its RSS, GET /v1/state/datasets,
//    /v1/configuration/datasets and /v1/convergence latency, and a create's latency next to an
//    empty cluster's. The configuration is written to the store before control starts (creating
//    100,000 datasets through the API is a different benchmark);
//  - on the same control service, a burst of 1,000 creates (10 in flight) with no follower, then
//    with one follower of GET /v1/events in its own process applying events as the dashboard
//    does (test/support/bench-follower.ts), and how far behind that follower was when the last
//    create returned (datasets not yet shown, its lag, the time until it showed them all).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpsAgent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { plan } from '../../src/converge/plan.js';
import { deploymentOf, type Dataset, type Deployment } from '../../src/model/configuration.js';
import { idMap } from '../../src/model/id-map.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { CHANNEL_PATH, CHANNEL_VERSION } from '../../src/protocol/channel.js';
import { agentTlsOptions } from '../../src/roles/agent/tls.js';
import { openStore } from '../../src/store/sqlite.js';
import { makeCerts } from '../support/certs.js';
import { createControlClient } from '../../src/client/control-client.js';
import type { EventCursor } from '../../src/client/types.js';
import { applyEvent, type ClusterEvent, type ClusterSnapshot } from '../../src/protocol/events.js';
import { clusterWith, found, local, vol } from '../converge/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SIZES = (process.env.BENCH_SCALE_DATASETS ?? '10000').split(',').map(Number);
const GiB = 1024 ** 3;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const f1 = (x: number): string => x.toFixed(1);
const dsId = (i: number): DatasetId => `dddddddd-0000-4000-8000-${i.toString(16).padStart(12, '0')}` as DatasetId;
const nodeId = (i: number): NodeId => `aaaaaaaa-0000-4000-8000-${i.toString(16).padStart(12, '0')}` as NodeId;

function configuration(n: number, primaryOf: (i: number) => NodeId): Deployment {
  const datasets: Record<string, Dataset> = {};
  for (let i = 0; i < n; i++) {
    const id = dsId(i);
    datasets[id] = { datasetId: id, primary: primaryOf(i), deleted: false, maximumSize: GiB, metadata: { name: `ds-${i}` } };
  }
  return deploymentOf({ datasets });
}

function planner(): void {
  const me = nodeId(0);
  const other = nodeId(1);
  const mine = Array.from({ length: 1000 }, (_, i) => dsId(i * 10));
  // 10,000 datasets over 10 nodes; this node is the primary of every tenth.
  const config = configuration(10_000, (i) => nodeId(i % 10));
  const handOver = configuration(10_000, (i) => (i % 10 === 0 ? other : nodeId(i % 10)));
  const base = { nodeId: me, mountRoot: '/flocker', now: Date.now(), allocationUnit: 1, needsFilesystem: false, volumeIdFor: vol };
  const alone = configuration(1000, () => me);
  // 100,000 datasets over 100 nodes; this node is the primary of every hundredth.
  const huge = configuration(100_000, (i) => nodeId(i % 100));
  const mineOfHuge = Array.from({ length: 1000 }, (_, i) => dsId(i * 100));
  const cases: [string, Parameters<typeof plan>[0]][] = [
    ['1,000 on a 1-node cluster', { ...base, configuration: alone, cluster: clusterWith({ [me]: [...alone.datasets.keys()] as DatasetId[] }), local: local(...([...alone.datasets.keys()] as DatasetId[]).map((id) => found.mounted(id))) }],
    ['all 1,000 converged', { ...base, configuration: config, cluster: clusterWith({ [me]: mine }), local: local(...mine.map((id) => found.mounted(id))) }],
    ['all 1,000 to create', { ...base, configuration: config, cluster: clusterWith({ [me]: [] }), local: local() }],
    ['1,000 of 100,000 converged', { ...base, configuration: huge, cluster: clusterWith({ [me]: mineOfHuge }), local: local(...mineOfHuge.map((id) => found.mounted(id))) }],
    ['all 1,000 to hand over', { ...base, configuration: handOver, cluster: clusterWith({ [me]: mine, [other]: [] }), local: local(...mine.map((id) => found.mounted(id))) }],
  ];
  console.log('planner alone (pure), an agent holding 1,000 datasets (alone, then 1,000 of 10,000 on 10 nodes, and of 100,000 on 100), 20 runs each after 3 warm-up:');
  for (const [label, input] of cases) {
    for (let i = 0; i < 3; i++) plan(input);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      plan(input);
      times.push(performance.now() - t);
    }
    console.log(`  ${label.padEnd(28)} p50 ${f1(pct(times, 50))} ms   max ${f1(Math.max(...times))} ms   (goal < 50 ms)`);
  }
  // The plans above reuse one configuration object, as an agent does between changes; the first
  // plan after a change also indexes the new configuration by primary (one walk of it).
  const fresh = Array.from({ length: 5 }, () => ({ ...huge, datasets: idMap(huge.datasets) }));
  const firsts = fresh.map((configuration) => {
    const t = performance.now();
    plan({ ...base, configuration, cluster: clusterWith({ [me]: mineOfHuge }), local: local(...mineOfHuge.map((id) => found.mounted(id))) });
    return performance.now() - t;
  });
  console.log(`  ${'first plan after a change, 1,000 of 100,000'.padEnd(28)} p50 ${f1(pct(firsts, 50))} ms   max ${f1(Math.max(...firsts))} ms`);
}

function call(agent: HttpsAgent, port: number, method: string, path: string, body?: unknown): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, servername: 'control-service', headers: { 'content-type': 'application/json' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** CPU seconds (user + system) a process has used so far. */
const cpuSecs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

async function control(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-bench-scale-'));
  let child: ReturnType<typeof spawn> | undefined;
  let ws: WebSocket | undefined;
  try {
    const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
    const node = certs.nodes[0]!.uuid as NodeId;
    const dataDir = join(dir, 'data');
    let t = performance.now();
    const store = openStore(dataDir);
    await store.replaceAll({ identity: store.identity, generation: 1, deployment: configuration(n, () => node) });
    await store.close();
    const seedSecs = (performance.now() - t) / 1000;
    t = performance.now();
    // BENCH_CONTROL_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" shows where control's time goes.
    const nodeArgs = (process.env.BENCH_CONTROL_NODE_ARGS ?? '').split(' ').filter(Boolean);
    child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'src/main.ts'), 'control', '--data-dir', dataDir, '--certificates-dir', certs.dir,
      '--api-port', '0', '--agent-port', '0', '--listen', '127.0.0.1'], { cwd: ROOT, env: { ...process.env, FLOCKER_LOG_LEVEL: process.env.FLOCKER_LOG_LEVEL ?? 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
    const info = join(dataDir, 'control.json');
    while (!existsSync(info)) {
      if (child.exitCode !== null) throw new Error('control exited');
      await new Promise((r) => setTimeout(r, 50));
    }
    const startSecs = (performance.now() - t) / 1000;
    const ports = JSON.parse(readFileSync(info, 'utf8')) as { api_port: number; agent_port: number };
    const user = certs.users['user']!;
    const agent = new HttpsAgent({ ca: readFileSync(certs.caCert), cert: readFileSync(user.cert), key: readFileSync(user.key), keepAlive: true, maxSockets: 1 });

    // One agent reports every dataset mounted, so /v1/state/datasets and /v1/convergence are full.
    t = performance.now();
    ws = new WebSocket(`wss://127.0.0.1:${ports.agent_port}${CHANNEL_PATH}`, { ...agentTlsOptions(certs.nodes[0]!.certificatesDir, 'bench'), maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
      ws!.once('open', () => resolve());
      ws!.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'hello', version: CHANNEL_VERSION, era: 'bench' }));
    ws.send(JSON.stringify({ type: 'report', report: {
      manifestations: Array.from({ length: n }, (_, i) => ({ datasetId: dsId(i), path: `/flocker/${dsId(i)}`, maximumSize: GiB })), nonManifest: [], progress: [],
    } }));
    for (;;) {
      const r = await call(agent, ports.api_port, 'GET', '/v1/state/datasets');
      if (r.status === 200 && r.bytes > n * 50) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const reportSecs = (performance.now() - t) / 1000;
    console.log(`control with ${n.toLocaleString('en')} datasets: store seeded in ${f1(seedSecs)} s, control listening in ${f1(startSecs)} s, agent report of all of them in state after ${f1(reportSecs)} s; RSS ${rssMiB(child.pid!).toFixed(0)} MiB`);
    for (const path of ['/v1/state/datasets', '/v1/configuration/datasets', '/v1/convergence']) {
      await call(agent, ports.api_port, 'GET', path);
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 10; i++) {
        const s = performance.now();
        const r = await call(agent, ports.api_port, 'GET', path);
        times.push(performance.now() - s);
        bytes = r.bytes;
      }
      console.log(`  GET ${path.padEnd(27)} p50 ${f1(pct(times, 50))} ms   max ${f1(Math.max(...times))} ms   ${(bytes / 1024 / 1024).toFixed(1)} MiB   (goal < 1 s)`);
    }
    const creates: number[] = [];
    let failure = '';
    for (let i = 0; i < 20 && !failure; i++) {
      const s = performance.now();
      try {
        const r = await call(agent, ports.api_port, 'POST', '/v1/configuration/datasets', { primary: node, maximum_size: 67108864 });
        if (r.status !== 201) failure = `HTTP ${r.status}`;
        else creates.push(performance.now() - s);
      } catch (e) {
        failure = `${(e as Error).message} after ${f1(performance.now() - s)} ms`;
      }
    }
    console.log(`  POST /v1/configuration/datasets (20 one after another)  ${creates.length ? `p50 ${f1(pct(creates, 50))} ms   max ${f1(Math.max(...creates))} ms` : ''}${failure ? `  a create failed: ${failure}` : ''}; RSS ${rssMiB(child.pid!).toFixed(0)} MiB`);
    if (n > 0 && !failure) await reconnect(agent, ports.api_port, certs, node);
    agent.destroy();
    if (n > 0 && !failure) await bursts(ports.api_port, certs, node, n + creates.length + RECONNECT_CREATES, child.pid!);
  } finally {
    ws?.terminate();
    if (child && child.exitCode === null) {
      const c = child;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const RECONNECT_CREATES = 20;

/**
 * A follower's first connection (the snapshot, parsed and applied), then the same follower back
 * after 20 creates made while it was away, with its Last-Event-ID: resumed, no snapshot.
 */
async function reconnect(agent: HttpsAgent, port: number, certs: Awaited<ReturnType<typeof makeCerts>>, node: NodeId): Promise<void> {
  const user = certs.users['user']!;
  const client = createControlClient({ host: '127.0.0.1', port, caCert: readFileSync(certs.caCert, 'utf8'), cert: readFileSync(user.cert, 'utf8'), key: readFileSync(user.key, 'utf8') });
  const cursor: EventCursor = {};
  let snapshot: ClusterSnapshot | undefined;
  /** ms until `done` holds of the applied snapshot, and the types of the events on the way. */
  const follow = async (done: (s: ClusterSnapshot, e: ClusterEvent) => boolean): Promise<{ ms: number; snapshotMs?: number; types: string[] }> => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 120_000);
    const t = performance.now();
    const types: string[] = [];
    let snapshotMs: number | undefined;
    for await (const e of client.events(ac.signal, cursor)) {
      types.push(e.type);
      snapshot = applyEvent(snapshot, e);
      if (e.type === 'snapshot') snapshotMs = performance.now() - t;
      if (snapshot && done(snapshot, e)) {
        clearTimeout(timer);
        return { ms: performance.now() - t, types, ...(snapshotMs !== undefined ? { snapshotMs } : {}) };
      }
    }
    clearTimeout(timer);
    throw new Error(`the follower did not get there (events: ${types.slice(0, 5).join(', ')})`);
  };
  try {
    // On to the first tick after the snapshot: whatever came with it is taken, and the place kept.
    const first = await follow((s, e) => e.type === 'tick');
    const ids: string[] = [];
    for (let i = 0; i < RECONNECT_CREATES; i++) {
      const body = { dataset_id: randomUUID(), primary: node, maximum_size: 67108864 };
      const r = await call(agent, port, 'POST', '/v1/configuration/datasets', body);
      if (r.status !== 201) throw new Error(`a create failed: HTTP ${r.status}`);
      ids.push(body.dataset_id);
    }
    const last = ids.at(-1)!;
    const back = await follow((s) => s.configuration.some((d) => d.dataset_id === last));
    const how = back.types[0] === 'resumed' ? 'resumed' : `not resumed (${back.types[0]})`;
    console.log(`  a follower's first connection: snapshot applied in ${f1((first.snapshotMs ?? NaN) / 1000)} s; back after ${RECONNECT_CREATES} creates with its Last-Event-ID: ${how}, caught up in ${f1(back.ms)} ms`);
  } finally {
    client.close();
  }
}

const BURST = 1000;
/** Creates sent again after a connection reset, printed with the figures. */
let resets = 0;

/** `count` creates, `inFlight` at a time; seconds taken. */
async function burst(agent: HttpsAgent, port: number, node: NodeId, count: number, inFlight: number): Promise<number> {
  const t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      next += 1;
      // Our own id, so a create whose connection was reset (a kept-alive socket closed by control
      // during a long pause) can be sent again safely, as the control client does: 409 then
      // means the first one landed.
      const body = { dataset_id: randomUUID(), primary: node, maximum_size: 67108864 };
      let r: Awaited<ReturnType<typeof call>>;
      try {
        r = await call(agent, port, 'POST', '/v1/configuration/datasets', body);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') throw e;
        resets += 1;
        r = await call(agent, port, 'POST', '/v1/configuration/datasets', body);
        if (r.status === 409) continue;
      }
      if (r.status !== 201) throw new Error(`a create in the burst failed: HTTP ${r.status}`);
    }
  }));
  return (performance.now() - t) / 1000;
}

interface FollowerLine { configured: number; shown: number; behindMs: number }

async function bursts(port: number, certs: Awaited<ReturnType<typeof makeCerts>>, node: NodeId, have: number, controlPid: number): Promise<void> {
  const user = certs.users['user']!;
  const agent = new HttpsAgent({ ca: readFileSync(certs.caCert), cert: readFileSync(user.cert), key: readFileSync(user.key), keepAlive: true, maxSockets: 10 });
  let follower: ChildProcess | undefined;
  try {
    let cpu = cpuSecs(controlPid);
    const alone = await burst(agent, port, node, BURST, 10);
    have += BURST;
    console.log(`  burst of ${BURST} creates (10 in flight), no follower:   ${f1(alone)} s   (${f1((BURST / alone))} creates/s; control's CPU ${f1(cpuSecs(controlPid) - cpu)} s)`);
    // BENCH_FOLLOWER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" shows where the follower's time goes.
    const followerArgs = (process.env.BENCH_FOLLOWER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    follower = spawn(process.execPath, [...followerArgs, '--import', 'tsx', join(ROOT, 'test/support/bench-follower.ts')], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FOLLOW_PORT: String(port), FOLLOW_CA: certs.caCert, FOLLOW_CERT: user.cert, FOLLOW_KEY: user.key },
    });
    let last: FollowerLine = { configured: 0, shown: 0, behindMs: -1 };
    createInterface({ input: follower.stdout! }).on('line', (l) => {
      last = JSON.parse(l) as FollowerLine;
    });
    const waitFor = async (what: string, ok: () => boolean, limitS: number): Promise<number> => {
      const t = performance.now();
      while (!ok()) {
        if (follower!.exitCode !== null) throw new Error(`the follower exited while waiting for ${what}`);
        if (performance.now() - t > limitS * 1000) throw new Error(`the follower did not get to ${what} in ${limitS} s (last: ${JSON.stringify(last)})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return (performance.now() - t) / 1000;
    };
    const snapS = await waitFor('its first snapshot', () => last.configured >= have, 600);
    cpu = cpuSecs(controlPid);
    const followerCpu = cpuSecs(follower.pid!);
    const withOne = await burst(agent, port, node, BURST, 10);
    have += BURST;
    const atEnd = last;
    const cpus = `control's CPU ${f1(cpuSecs(controlPid) - cpu)} s, the follower's ${f1(cpuSecs(follower.pid!) - followerCpu)} s`;
    const catchUp = await waitFor('the whole burst', () => last.configured >= have && last.behindMs >= 0 && last.behindMs < 1000, 600);
    console.log(`  burst of ${BURST} creates (10 in flight), one follower: ${f1(withOne)} s   (${f1((BURST / withOne))} creates/s; ${f1(withOne / alone)}x the time without; its snapshot of ${(have - BURST).toLocaleString('en')} took ${f1(snapS)} s; ${cpus})`);
    console.log(`  the follower when the last create returned: ${(have - atEnd.configured).toLocaleString('en')} of ${BURST} not yet shown, ${f1(atEnd.behindMs / 1000)} s behind; all shown and live ${f1(catchUp)} s later${resets > 0 ? `; ${resets} create(s) sent again after a connection reset` : ''}; control's RSS ${rssMiB(controlPid).toFixed(0)} MiB`);
  } finally {
    agent.destroy();
    if (follower && follower.exitCode === null) {
      const f = follower;
      const gone = new Promise((r) => f.once('exit', r));
      f.kill('SIGTERM');
      await gone;
    }
  }
}

planner();
for (const n of [0, ...SIZES]) await control(n);
