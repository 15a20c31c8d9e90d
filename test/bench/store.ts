// Configuration store figures, SQLite vs etcd (printed, never asserted): a real `cluster up`
// (directory backend, one node) per store, then
//  - creates/s and create latency with 8 concurrent clients (each create durable before its answer);
//  - create → reported mounted with a path, p50/p90 (sequential);
//  - with etcd and two replicas: the same through replica 2 for a node served by replica 1.
// Runnable alone: node --import tsx test/bench/store.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

export async function run(): Promise<void> {
  const rows: Figures[] = [];
  rows.push(await withCluster([], (c) => measure('sqlite', c, c.client)));
  rows.push(await withCluster(['--store', 'etcd', '--control-replicas', '1'], (c) => measure('etcd (3 members)', c, c.client)));
  rows.push(await withCluster(['--store', 'etcd', '--control-replicas', '2'], async (c) => {
    const info = JSON.parse(readFileSync(join(c.dir, 'cluster.json'), 'utf8')) as { apis: string[] };
    const second = clientFromCertsDir({ host: '127.0.0.1', port: Number(new URL(info.apis[1]!).port), certsPath: c.certsPath, user: c.user });
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
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
