// Configuration store figures, SQLite vs etcd (printed, never asserted): a real `cluster up`
// (directory backend, one node) per store, then
//  - creates/s and create latency with 8 concurrent clients (each create durable before its answer);
//  - create → reported mounted with a path, p50/p90 (sequential);
//  - with etcd and two replicas: the same through replica 2 for a node served by replica 1;
//  - a configuration change made through replica 1 reaching simulated agents connected to
//    replica 1 and to replica 2 (p50 and worst of the last agent per round).
// Runnable alone: node --import tsx test/bench/store.ts
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CHANNEL_PATH, CHANNEL_VERSION } from '../../src/protocol/channel.js';
import { parseControlMessage } from '../../src/protocol/channel-messages.js';
import { agentTlsOptions } from '../../src/roles/agent/tls.js';
import { startControlService, type RunningControlService } from '../../src/roles/control/service.js';
import { silentLogger } from '../../src/log.js';
import { parseStoreUrl } from '../../src/store/open.js';
import { createEdit } from '../../src/roles/control/edits.js';
import { makeCerts } from '../support/certs.js';
import { startTestEtcd } from '../support/etcd.js';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import type { ControlClient } from '../../src/client/types.js';
import { startCluster, type TestCluster } from '../support/cluster.js';

const CLIENTS = 8;
const CREATES = Number(process.env.BENCH_CREATES ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function until<T>(fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Figures { label: string; rate: number; p50: number; p99: number; conv50: number; conv90: number }

async function measure(label: string, c: TestCluster, via: ControlClient): Promise<Figures> {
  const node = c.nodes[0]!.uuid;
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < CREATES) {
      next++;
      const t = performance.now();
      await via.createDataset({ primary: node, metadata: { name: 'bench' } });
      lat.push(performance.now() - t);
    }
  }));
  const rate = CREATES / ((performance.now() - t0) / 1000);
  // Let the agent mount the burst before timing single creates.
  await until(async () => ((await c.client.stateDatasets()).filter((s) => s.path).length >= CREATES ? true : undefined), 300_000);
  const conv: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const d = await via.createDataset({ primary: node });
    await until(async () => ((await c.client.stateDatasets()).find((s) => s.dataset_id === d.dataset_id && s.path) ? true : undefined));
    conv.push(performance.now() - t);
  }
  return { label, rate, p50: pct(lat, 50), p99: pct(lat, 99), conv50: pct(conv, 50), conv90: pct(conv, 90) };
}

async function withCluster<T>(extraArgs: string[], fn: (c: TestCluster) => Promise<T>): Promise<T> {
  const c = await startCluster({ nodes: 1, extraArgs, timeoutMs: 120_000 });
  try {
    return await fn(c);
  } finally {
    await c.stop();
  }
}

const SIM_AGENTS = Number(process.env.BENCH_SIM_AGENTS ?? 40);
const PUSH_ROUNDS = 10;

/** Simulated agents, half on each of two replicas over one etcd; creates go through replica 1. */
export async function crossReplicaPush(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-bench-push-'));
  const etcd = await startTestEtcd();
  const services: RunningControlService[] = [];
  const sockets: WebSocket[] = [];
  try {
    const certs = await makeCerts(join(dir, 'certs'), { nodes: SIM_AGENTS });
    for (let r = 0; r < 2; r++) {
      services.push(await startControlService({
        dataDir: join(dir, `data-${r}`), certificatesDir: certs.dir, apiPort: 0, agentPort: 0, listen: '127.0.0.1',
        log: silentLogger(), store: parseStoreUrl(etcd.url('/bench/')),
      }));
    }
    let watch: ((i: number, text: string) => void) | undefined;
    await Promise.all(certs.nodes.map((n, i) => new Promise<void>((resolve, reject) => {
      const port = services[i % 2]!.agentPort;
      const ws = new WebSocket(`wss://127.0.0.1:${port}${CHANNEL_PATH}`, agentTlsOptions(n.certificatesDir, 'bench'));
      sockets.push(ws);
      let first = true;
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', version: CHANNEL_VERSION, era: `bench-${i}` })));
      ws.on('message', (data) => {
        if (first) { first = false; resolve(); }
        watch?.(i, data.toString());
      });
      ws.on('error', reject);
    })));
    const last: [number[], number[]] = [[], []];
    const hub = services[0]!.hub;
    for (let round = 0; round < PUSH_ROUNDS; round++) {
      const id = `eeeeeeee-0000-4000-8000-${String(round).padStart(12, '0')}`;
      const got = new Map<number, number>();
      const t0 = performance.now();
      const all = new Promise<void>((resolve) => {
        watch = (i, text) => {
          if (got.has(i) || !text.includes(id)) return;
          const parsed = parseControlMessage(text);
          const m = parsed.ok ? parsed.message : undefined;
          // A delta naming the dataset carries it (the text holds its id); a snapshot must hold it.
          if (m?.type === 'delta' || (m?.type === 'cluster' && m.configuration.datasets[id])) {
            got.set(i, performance.now() - t0);
            if (got.size === sockets.length) resolve();
          }
        };
      });
      await hub.write(createEdit({ datasetId: id as never, primary: certs.nodes[0]!.uuid as never, maximumSize: null, metadata: {} }));
      await all;
      for (const side of [0, 1] as const) last[side].push(Math.max(...[...got].filter(([i]) => i % 2 === side).map(([, t]) => t)));
    }
    const f = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(0)} ms, worst ${Math.max(...xs).toFixed(0)} ms`;
    return `A change made through replica 1 reaching all of ${SIM_AGENTS} simulated agents (${PUSH_ROUNDS} rounds, last agent per round):\n`
      + `  agents on replica 1 (local):          ${f(last[0])}\n  agents on replica 2 (through etcd):   ${f(last[1])}`;
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const svc of services) await svc.stop();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const rows: Figures[] = [];
  rows.push(await withCluster([], (c) => measure('sqlite', c, c.client)));
  rows.push(await withCluster(['--store', 'etcd', '--control-replicas', '1'], (c) => measure('etcd (3 members)', c, c.client)));
  rows.push(await withCluster(['--store', 'etcd', '--control-replicas', '2'], async (c) => {
    const info = JSON.parse(readFileSync(join(c.dir, 'cluster.json'), 'utf8')) as { apis: string[] };
    const second = clientFromCertsDir({ host: new URL(info.apis[1]!).hostname, port: Number(new URL(info.apis[1]!).port), certsPath: c.certsPath, user: c.user });
    try {
      return await measure('etcd, via replica 2', c, second);
    } finally {
      second.close();
    }
  }));
  console.log(`Configuration store: ${CREATES} creates by ${CLIENTS} concurrent clients (each durable before its answer), then ${ROUNDS} sequential create → mounted (directory backend, 1 node):`);
  console.log(`  ${'store'.padEnd(22)} ${'creates/s'.padStart(10)} ${'create p50'.padStart(11)} ${'p99'.padStart(9)} ${'→ mounted p50'.padStart(14)} ${'p90'.padStart(9)}`);
  for (const r of rows) {
    console.log(`  ${r.label.padEnd(22)} ${r.rate.toFixed(0).padStart(10)} ${`${r.p50.toFixed(1)} ms`.padStart(11)} ${`${r.p99.toFixed(1)} ms`.padStart(9)} ${`${r.conv50.toFixed(0)} ms`.padStart(14)} ${`${r.conv90.toFixed(0)} ms`.padStart(9)}`);
  }
  console.log(await crossReplicaPush());
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
