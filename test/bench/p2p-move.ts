// p2p move figures between simulated hosts (printed, never asserted; issue 10):
//  - downtime (unmounted on the source → mounted on the destination) for 256 MiB and 1 GiB of
//    data with 8 MiB changed after the pre-copy: it should depend on what changed, not on the size
//  - bytes that crossed the network for a 1 GiB dataset with ~10 % of it written
// Sizes: BENCH_P2P_SMALL_MIB (256), BENCH_P2P_LARGE_MIB (1024).
import { makeP2PBed, type P2PBed } from '../p2p/harness.js';

const MiB = 1024 * 1024;
const SMALL = Number(process.env.BENCH_P2P_SMALL_MIB ?? 256);
const LARGE = Number(process.env.BENCH_P2P_LARGE_MIB ?? 1024);

async function rxBytes(bed: P2PBed, i: number): Promise<number> {
  const out = await bed.sh(i, 'cat /sys/class/net/*/statistics/rx_bytes');
  return out.trim().split('\n').reduce((n, x) => n + Number(x), 0);
}

async function mountedOn(bed: P2PBed, id: string, i: number): Promise<true | undefined> {
  const s = (await bed.client.stateDatasets()).find((d) => d.dataset_id === id);
  return s?.primary === bed.nodes[i]!.uuid && s.path !== undefined ? true : undefined;
}

/** Fill `fillMib` of random data on A, pre-copy to B under a lease, change 8 MiB, release: downtime. */
async function downtime(bed: P2PBed, fillMib: number): Promise<{ downtimeMs: number; handoffMiB: number; moveMs: number }> {
  const [a, b] = bed.nodes;
  const ds = await bed.client.createDataset({ primary: a!.uuid, maximum_size: (fillMib + 256) * MiB });
  const id = ds.dataset_id;
  const mp = (i: number) => `${bed.nodes[i]!.mountRoot}/${id}`;
  await bed.until('mounted on A', () => mountedOn(bed, id, 0), 120_000);
  await bed.sh(0, `head -c ${fillMib}M /dev/urandom > ${mp(0)}/big && sync`, 600_000);
  // A lease keeps it on A while B pre-copies, so the 8 MiB change lands after the pre-copy.
  await bed.client.acquireLease(id, a!.uuid, null);
  const moveStart = performance.now();
  await bed.client.moveDataset(id, b!.uuid);
  await bed.until('B to pre-copy', async () => {
    const row = (await bed.client.convergence()).find((r) => r.dataset_id === id);
    return row?.phase === 'waiting-for-lease' && /pre-copied/.test(row.reason) ? true : undefined;
  }, 600_000);
  await bed.sh(0, `dd if=/dev/urandom of=${mp(0)}/big bs=1M count=8 seek=${Math.floor(fillMib / 2)} conv=notrunc status=none && sync`);
  const rxBefore = await rxBytes(bed, 1);
  // Sample both mount tables: downtime is from the last sample mounted on A to the first on B.
  let lastOnA = performance.now();
  let firstOnB = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = performance.now();
      if (bed.mountsOn(0).includes(mp(0))) lastOnA = now;
      if (firstOnB === 0 && bed.mountsOn(1).includes(mp(1))) firstOnB = now;
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await bed.client.releaseLease(id);
  await bed.until('mounted on B', () => mountedOn(bed, id, 1), 600_000);
  await bed.until('the sampler to see it on B', () => (firstOnB > 0 ? true : undefined), 10_000);
  sampling = false;
  await sampler;
  const handoff = (await rxBytes(bed, 1)) - rxBefore;
  const moveMs = performance.now() - moveStart;
  await bed.client.deleteDataset(id);
  return { downtimeMs: firstOnB - lastOnA, handoffMiB: handoff / MiB, moveMs };
}

async function sparseBytes(bed: P2PBed): Promise<{ sentMiB: number; sizeMiB: number; writtenMiB: number }> {
  const [a, b] = bed.nodes;
  const size = LARGE;
  const written = Math.round(size / 10);
  const ds = await bed.client.createDataset({ primary: a!.uuid, maximum_size: size * MiB });
  const id = ds.dataset_id;
  await bed.until('mounted on A', () => mountedOn(bed, id, 0), 120_000);
  await bed.sh(0, `head -c ${written}M /dev/urandom > ${a!.mountRoot}/${id}/part && sync`, 600_000);
  const before = await rxBytes(bed, 1);
  await bed.client.moveDataset(id, b!.uuid);
  await bed.until('mounted on B', () => mountedOn(bed, id, 1), 600_000);
  const sent = (await rxBytes(bed, 1)) - before;
  await bed.client.deleteDataset(id);
  return { sentMiB: sent / MiB, sizeMiB: size, writtenMiB: written };
}

const bed = await makeP2PBed(2);
try {
  await bed.startControl();
  bed.startAgent(0);
  bed.startAgent(1);
  await bed.until('both agents', async () => ((await bed.client.stateNodes()).length === 2 ? true : undefined), 120_000);
  for (const mib of [SMALL, LARGE]) {
    const r = await downtime(bed, mib);
    process.stdout.write(`p2p move of ${mib} MiB, 8 MiB changed after the pre-copy: downtime ${r.downtimeMs.toFixed(0)} ms `
      + `(hand-off moved ${r.handoffMiB.toFixed(1)} MiB over the link; whole move ${(r.moveMs / 1000).toFixed(1)} s)\n`);
  }
  const s = await sparseBytes(bed);
  process.stdout.write(`p2p move of a ${s.sizeMiB} MiB dataset with ${s.writtenMiB} MiB written: ${s.sentMiB.toFixed(1)} MiB crossed the network\n`);
} finally {
  await bed.cleanup();
}
