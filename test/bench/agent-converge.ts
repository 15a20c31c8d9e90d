// Agent convergence figures (printed, never asserted):
//  - create → reported with a path, p50 (real control + 2 real agents; directory backend, and loopback as root),
//    timed from the API call to the event that shows it on GET /v1/events
//  - move → reported on the new node, p50; on loopback beside the raw steps it must do, and the ratio
//  - a configuration change reaching 100 simulated agents (WebSocket clients with node certs)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CHANNEL_PATH, CHANNEL_VERSION } from '../../src/protocol/channel.js';
import { parseControlMessage } from '../../src/protocol/channel-messages.js';
import { agentTlsOptions } from '../../src/roles/agent/tls.js';
import { followCluster } from '../../src/client/follow.js';
import type { ControlClient } from '../../src/client/types.js';
import type { ApiDatasetState } from '../../src/protocol/api-json.js';
import { makeTestBed, until, type TestBed } from '../agent/harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const SIM_AGENTS = Number(process.env.BENCH_SIM_AGENTS ?? 100);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

/**
 * Control's dataset state as GET /v1/events delivers it, each change noted as it arrives: the
 * time control knows, without GETs every few ms loading the machine being measured.
 */
class StateWatch {
  private readonly stop = new AbortController();
  private state: readonly ApiDatasetState[] = [];
  private readonly waiting = new Set<() => void>();

  constructor(client: ControlClient) {
    void (async () => {
      for await (const u of followCluster(client, { signal: this.stop.signal })) {
        if (u.kind !== 'event') continue;
        this.state = u.snapshot.state;
        for (const w of [...this.waiting]) w();
      }
    })();
  }

  /** Resolves when control reports dataset `id` on node `primary` with a path. */
  reported(id: string, primary: string, timeoutMs = 30_000): Promise<void> {
    const has = (): boolean => this.state.some((d) => d.dataset_id === id && d.primary === primary && d.path !== undefined);
    if (has()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!has()) return;
        this.waiting.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.delete(check);
        reject(new Error(`dataset ${id} was not reported on ${primary} with a path within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.add(check);
    });
  }

  close(): void {
    this.stop.abort();
  }
}

async function createAndMove(bed: TestBed, backend: string): Promise<number> {
  const [n0, n1] = bed.nodes;
  const creates: number[] = [];
  const moves: number[] = [];
  const watch = new StateWatch(bed.client);
  try {
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      const ds = await bed.client.createDataset({ primary: n0!.uuid, maximum_size: 67_108_864 });
      await watch.reported(ds.dataset_id, n0!.uuid);
      creates.push(performance.now() - t);
      t = performance.now();
      await bed.client.moveDataset(ds.dataset_id, n1!.uuid);
      await watch.reported(ds.dataset_id, n1!.uuid);
      moves.push(performance.now() - t);
    }
  } finally {
    watch.close();
  }
  console.log(`create → reported with a path (${backend} backend, ${ROUNDS} rounds): p50 ${fmt(pct(creates, 50))}, p90 ${fmt(pct(creates, 90))}, max ${fmt(Math.max(...creates))}`);
  console.log(`move → reported on the new node (${backend} backend, ${ROUNDS} rounds): p50 ${fmt(pct(moves, 50))}, p90 ${fmt(pct(moves, 90))}, max ${fmt(Math.max(...moves))}`);
  return pct(moves, 50);
}

/** What a loopback move must do at least, by hand: umount + losetup -d on one side, losetup + mount on the other. */
function rawLoopbackSteps(dir: string): number {
  const image = join(dir, 'raw.img');
  const mnt = join(dir, 'raw-mnt');
  execFileSync('truncate', ['-s', '64M', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  mkdirSync(mnt);
  let dev = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  execFileSync('mount', [dev, mnt]);
  const times: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      execFileSync('umount', [mnt]);
      execFileSync('losetup', ['-d', dev]);
      dev = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
      execFileSync('mount', [dev, mnt]);
      times.push(performance.now() - t);
    }
  } finally {
    spawnSync('umount', [mnt]);
    spawnSync('losetup', ['-d', dev]);
  }
  return pct(times, 50);
}

async function fanOut(bed: TestBed): Promise<void> {
  const sockets: WebSocket[] = [];
  let watch: ((i: number, text: string) => void) | undefined;
  try {
    await Promise.all(bed.certs.nodes.slice(2, 2 + SIM_AGENTS).map((n, i) => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${bed.agentPort}${CHANNEL_PATH}`, agentTlsOptions(n.certificatesDir, 'bench'));
      sockets.push(ws);
      let first = true;
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'hello', version: CHANNEL_VERSION, era: `bench-${i}` }));
        ws.send(JSON.stringify({ type: 'report', report: { manifestations: [], nonManifest: [], progress: [] } }));
      });
      ws.on('message', (data) => {
        const text = data.toString();
        if (first) {
          first = false;
          resolve();
        }
        watch?.(i, text);
      });
      ws.on('error', reject);
    })));
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const got = new Map<number, number>();
      let t0 = 0;
      let target = '';
      const all = new Promise<void>((resolve) => {
        watch = (i, text) => {
          if (got.has(i) || !target || !text.includes(target)) return;
          const p = parseControlMessage(text);
          const m = p.ok ? p.message : undefined;
          // Agents get a snapshot on connect and deltas after it.
          const has = m?.type === 'cluster' ? m.configuration.datasets[target] : m?.type === 'delta' ? m.changes.datasets?.set?.[target] : undefined;
          if (has) {
            got.set(i, performance.now() - t0);
            if (got.size === sockets.length) resolve();
          }
        };
      });
      t0 = performance.now();
      const primary = bed.nodes[0]!.uuid;
      const created = bed.client.createDataset({ primary, maximum_size: 67_108_864 });
      target = (await created).dataset_id;
      await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
      if (got.size === 0) throw new Error(`round ${round + 1}: no simulated agent saw dataset ${target} within 10 s`);
      const worst = Math.max(...got.values());
      times.push(worst);
      console.log(`  round ${round + 1}: ${got.size}/${sockets.length} agents had the change; slowest ${fmt(worst)}, p50 ${fmt(pct([...got.values()], 50))}`);
    }
    console.log(`config change → all ${sockets.length} simulated agents (API call included): p50 ${fmt(pct(times, 50))}, max ${fmt(Math.max(...times))} (target < 1000 ms)`);
  } finally {
    watch = undefined;
    for (const ws of sockets) ws.terminate();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'flocker-bench-agent-'));
console.log(`making certificates for ${SIM_AGENTS} nodes…`);
const bed = await makeTestBed(dir, 2 + SIM_AGENTS);
// Only the first two nodes run real agents; the rest are simulated by WebSocket clients.
bed.nodes.splice(2);
try {
  await bed.startControl();
  bed.startAgent(0);
  bed.startAgent(1);
  await until('both agents to report', async () => ((await bed.client.stateNodes()).length >= 2 ? true : undefined), 60_000);
  await createAndMove(bed, 'directory');
  await fanOut(bed);
} finally {
  await bed.cleanup();
  await rm(dir, { recursive: true, force: true });
}

// The same create and move on the loopback backend: loop device, mkfs.ext4 on first use, mount.
if (process.getuid?.() === 0) {
  const ldir = await mkdtemp(join(tmpdir(), 'flocker-bench-loopback-'));
  const lbed = await makeTestBed(ldir, 2, 'loopback');
  try {
    await lbed.startControl();
    lbed.startAgent(0);
    lbed.startAgent(1);
    await until('both loopback agents to report', async () => ((await lbed.client.stateNodes()).length >= 2 ? true : undefined), 60_000);
    const move = await createAndMove(lbed, 'loopback');
    const raw = rawLoopbackSteps(ldir);
    console.log(`raw umount + losetup -d + losetup + mount (${ROUNDS} rounds): p50 ${fmt(raw)}; loopback move p50 / raw = ${(move / raw).toFixed(1)}× (goal ≤ 2×)`);
  } finally {
    await lbed.cleanup();
    await rm(ldir, { recursive: true, force: true });
  }
} else {
  console.log('loopback figures skipped: the loopback backend needs root');
}
