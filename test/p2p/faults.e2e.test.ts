// Issue 10's faults, end to end between simulated hosts: bytes corrupted in transit are caught and
// sent again; a kill -9 of the source agent mid-transfer resumes (well under half resent); a link
// cut mid-transfer resumes when it comes back. Transfers are slowed with a real traffic shaper
// (tc) on the hosts' links so that "mid-transfer" is a moment a test can reach.
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeP2PBed, type P2PBed } from './harness.js';

const MiB = 1024 * 1024;
const FILL_MIB = Number(process.env.FLOCKER_TEST_P2P_FAULT_MIB ?? 48);
// The source flips one byte at this offset of the first stream it sends (test-only hook).
const CORRUPT_AT = 5 * MiB + 17;

let bed: P2PBed;
let id = '';
let sum = '';

function limit(i: number, rate: string | null): void {
  const dev = bed.nodes[i]!.host.vethHost;
  try {
    execFileSync('tc', ['qdisc', 'del', 'dev', dev, 'root'], { stdio: 'ignore' });
  } catch {
    /* none yet */
  }
  if (rate) execFileSync('tc', ['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', '256kb', 'latency', '200ms']);
}

test.before(async () => {
  bed = await makeP2PBed(2);
  await bed.startControl();
  bed.startAgent(0, { FLOCKER_TEST_CORRUPT_TRANSFER: String(CORRUPT_AT) });
  bed.startAgent(1);
  await bed.until('both agents to report', async () => ((await bed.client.stateNodes()).length === 2 ? true : undefined), 60_000);
  const created = await bed.client.createDataset({ primary: bed.nodes[0]!.uuid, maximum_size: 512 * MiB });
  id = created.dataset_id;
  await bed.until('the dataset mounted on A', () => mountedOn(0), 60_000);
  await bed.sh(0, `head -c ${FILL_MIB}M /dev/urandom > ${mountPoint(0)}/big && sync`, 120_000);
  sum = await sha(0);
});

test.after(async () => {
  if (bed) await bed.cleanup();
});

const mountPoint = (i: number) => `${bed.nodes[i]!.mountRoot}/${id}`;
const sha = async (i: number) => (await bed.sh(i, `sha256sum ${mountPoint(i)}/big`, 120_000)).split(' ')[0]!;

async function mountedOn(i: number): Promise<true | undefined> {
  const s = (await bed.client.stateDatasets()).find((d) => d.dataset_id === id);
  const row = (await bed.client.convergence()).find((r) => r.dataset_id === id);
  return s?.primary === bed.nodes[i]!.uuid && s.path === mountPoint(i) && row?.phase === 'converged' ? true : undefined;
}

async function progress(): Promise<{ bytes_done: number; bytes_total: number } | undefined> {
  return (await bed.client.convergence()).find((r) => r.dataset_id === id)?.progress;
}

/** Bytes node i has received on its link (the kernel's count on its end of the veth pair). */
async function rxBytes(i: number): Promise<number> {
  const out = await bed.sh(i, 'cat /sys/class/net/*/statistics/rx_bytes');
  return out.trim().split('\n').reduce((n, x) => n + Number(x), 0);
}

test('bytes corrupted in transit are detected and sent again: the data arrives intact', async () => {
  await bed.client.moveDataset(id, bed.nodes[1]!.uuid);
  await bed.until('the dataset mounted on B', () => mountedOn(1), 240_000);
  assert.is(await sha(1), sum);
  assert.match(bed.nodes[1]!.log, /failed its digest/, 'B reported the corrupted chunk');
});

test('kill -9 of the source agent mid-transfer: the move completes and resends well under half', async () => {
  // B → A, slowed to ~8 MiB/s into A so the kill lands mid-stream.
  limit(0, '64mbit');
  try {
    const before = await rxBytes(0);
    await bed.client.moveDataset(id, bed.nodes[0]!.uuid);
    await bed.until('a third of the data to cross', async () => {
      const p = await progress();
      return p && p.bytes_total > 0 && p.bytes_done >= p.bytes_total / 3 ? true : undefined;
    }, 120_000);
    await bed.kill9Agent(1);
    bed.startAgent(1);
    await bed.until('the dataset mounted on A', () => mountedOn(0), 240_000);
    const received = (await rxBytes(0)) - before;
    assert.is(await sha(0), sum);
    assert.ok(received < 1.5 * FILL_MIB * MiB, `A received ${(received / MiB).toFixed(1)} MiB for ${FILL_MIB} MiB of data`);
  } finally {
    limit(0, null);
  }
});

test('the link cut mid-transfer: the move resumes when it comes back', async () => {
  limit(1, '64mbit');
  try {
    await bed.client.moveDataset(id, bed.nodes[1]!.uuid);
    await bed.until('a third of the data to cross', async () => {
      const p = await progress();
      return p && p.bytes_total > 0 && p.bytes_done >= p.bytes_total / 3 ? true : undefined;
    }, 120_000);
    bed.hosts.net.linkDown(bed.nodes[0]!.host);
    // Down long enough that the stream stalls: the progress stops moving.
    let last = -1;
    await bed.until('the transfer to stall', async () => {
      const done = (await progress())?.bytes_done ?? -1;
      const stalled = done === last;
      last = done;
      if (!stalled) await new Promise((r) => setTimeout(r, 500));
      return stalled ? true : undefined;
    }, 60_000);
    bed.hosts.net.linkUp(bed.nodes[0]!.host);
    await bed.until('the dataset mounted on B', () => mountedOn(1), 240_000);
    assert.is(await sha(1), sum);
  } finally {
    bed.hosts.net.linkUp(bed.nodes[0]!.host);
    limit(1, null);
  }
});

test.run();
