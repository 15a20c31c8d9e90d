// Benchmark: what the flocker driver adds to `docker run`, against Docker's own local driver
// (goal: ≤ 1.3× on a volume already on this node), and how long `docker run` takes to start on
// a volume that lives on the other node (the move included). Printed, never asserted.
import { randomBytes } from 'node:crypto';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { docker, dockerTry, ensureDocker } from '../support/docker.js';
import { pluginCall, startPlugin, type PluginProcess } from '../plugin/support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const MOVES = Number(process.env.BENCH_MOVES ?? 5);

function stats(xs: number[]): { median: number; mean: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: s[0]!, max: s[s.length - 1]! };
}

const fmt = (ms: number): string => `${ms.toFixed(0).padStart(5)} ms`;
const line = (label: string, xs: number[]): string => {
  const st = stats(xs);
  return `  ${label.padEnd(44)} median ${fmt(st.median)}  mean ${fmt(st.mean)}  min ${fmt(st.min)}  max ${fmt(st.max)}  (n=${xs.length})`;
};

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const env = await ensureDocker();
if (!env.available) {
  console.log(`plugin-docker: skipped: ${env.reason}`);
  process.exit(0);
}
const image = env.image;
const run = randomBytes(3).toString('hex');
// Stable driver names: dockerd retries every driver it has ever seen (see test/plugin/docker-e2e).
const A = 'flockerbencha';
const B = 'flockerbenchb';
const local = `bl${run}`;
const ours = `bf${run}`;
const moved: string[] = [];
let cluster: TestCluster | undefined;
const plugins: PluginProcess[] = [];

try {
  cluster = await startCluster({ nodes: 2 });
  const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
  plugins.push(await startPlugin(n1.config, `/run/docker/plugins/${A}.sock`, ['--mount-timeout', '60']));
  plugins.push(await startPlugin(n2.config, `/run/docker/plugins/${B}.sock`, ['--mount-timeout', '60']));
  await docker(['volume', 'create', local]);
  await docker(['volume', 'create', '-d', A, '--name', ours, '-o', 'size=100M']);
  // Warm both paths (first mount of the dataset, image layers, plugin activation).
  await docker(['run', '--rm', '-v', `${local}:/data`, image, 'true']);
  await docker(['run', '--rm', '-v', `${ours}:/data`, '--volume-driver', A, image, 'true']);

  const tLocal: number[] = [];
  const tOurs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Interleaved so machine noise hits both alike.
    tLocal.push(await time(() => docker(['run', '--rm', '-v', `${local}:/data`, image, 'true'])));
    tOurs.push(await time(() => docker(['run', '--rm', '-v', `${ours}:/data`, '--volume-driver', A, image, 'true'])));
  }

  const sock = `/run/docker/plugins/${A}.sock`;
  const tMount: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    tMount.push(await time(async () => {
      const m = await pluginCall(sock, '/VolumeDriver.Mount', { Name: ours, ID: `bench-${i}` });
      if (m.Err) throw new Error(String(m.Err));
      await pluginCall(sock, '/VolumeDriver.Unmount', { Name: ours, ID: `bench-${i}` });
    }));
  }

  const tMove: number[] = [];
  for (let i = 0; i < MOVES; i++) {
    const name = `bm${run}-${i}`;
    moved.push(name);
    const ds = await cluster.client.createDataset({ primary: n2.uuid, maximum_size: 64 * 1024 * 1024, metadata: { name } });
    const deadline = Date.now() + 30_000;
    while (!(await cluster.client.stateDatasets()).some((s) => s.dataset_id === ds.dataset_id && s.primary === n2.uuid && s.path)) {
      if (Date.now() > deadline) throw new Error('dataset never mounted on node 2');
      await new Promise((r) => setTimeout(r, 50));
    }
    tMove.push(await time(() => docker(['run', '--rm', '-v', `${name}:/data`, '--volume-driver', A, image, 'true'])));
  }

  const ratio = stats(tOurs).median / stats(tLocal).median;
  console.log('docker run --rm -v VOL:/data IMAGE true (2-node cluster, directory backend, vfs dockerd)');
  console.log(line("Docker's local driver, existing volume", tLocal));
  console.log(line('flocker driver, volume already on this node', tOurs));
  console.log(`  ratio flocker/local (medians): ${ratio.toFixed(2)}x  (goal <= 1.30x: ${ratio <= 1.3 ? 'met' : 'NOT met'})`);
  console.log(line('plugin Mount+Unmount alone (socket round trips)', tMount));
  console.log(line('flocker driver, volume on the other node', tMove));
} finally {
  for (const v of [local, ours, ...moved]) await dockerTry(['volume', 'rm', '-f', v]);
  for (const p of plugins) await p.stop();
  await cluster?.stop();
}
