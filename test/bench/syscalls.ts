// The agent's storage steps, spawned (mount(8), umount(8), losetup(8), as before) beside the
// system calls that replaced them (src/sys/mounts.ts, src/sys/losetup.ts): p50 and p90 of each,
// rounds interleaved so both see the same machine. Printed, never asserted. Needs root.
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachLoop, detachLoop, listLoops } from '../../src/sys/losetup.js';
import { listMounts, mount, umount } from '../../src/sys/mounts.js';
import { run } from '../../src/sys/run.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

type Step = 'bind mount' | 'umount (bind)' | 'loop attach' | 'ext4 mount' | 'umount (ext4)' | 'loop detach';
type Timings = Map<Step, number[]>;

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function timed<T>(into: Timings, step: Step, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const r = await fn();
  const list = into.get(step) ?? [];
  list.push(performance.now() - started);
  into.set(step, list);
  return r;
}

interface Way {
  bind(source: string, target: string): Promise<void>;
  umount(target: string): Promise<void>;
  attach(file: string): Promise<string>;
  mountExt4(device: string, target: string): Promise<void>;
  detach(device: string): Promise<void>;
}

const spawned: Way = {
  bind: async (s, t) => { await run('mount', ['--bind', s, t]); },
  umount: async (t) => { await run('umount', [t]); },
  attach: async (f) => (await run('losetup', ['--find', '--show', f])).trim(),
  mountExt4: async (d, t) => { await run('mount', ['-t', 'ext4', '-o', 'noinit_itable', d, t]); },
  detach: async (d) => { await run('losetup', ['--detach', d]); },
};

const syscalls: Way = {
  bind: (s, t) => mount(s, t, { bind: true }),
  umount,
  attach: attachLoop,
  mountExt4: (d, t) => mount(d, t, { type: 'ext4', options: 'noinit_itable' }),
  detach: detachLoop,
};

async function round(way: Way, into: Timings, dir: string, image: string): Promise<void> {
  const source = join(dir, 'source');
  const target = join(dir, 'target');
  await timed(into, 'bind mount', () => way.bind(source, target));
  await timed(into, 'umount (bind)', () => way.umount(target));
  const device = await timed(into, 'loop attach', () => way.attach(image));
  await timed(into, 'ext4 mount', () => way.mountExt4(device, target));
  await timed(into, 'umount (ext4)', () => way.umount(target));
  await timed(into, 'loop detach', () => way.detach(device));
}

async function cleanUp(dir: string): Promise<void> {
  for (const m of (await listMounts()).filter((x) => x.mountPoint.startsWith(`${dir}/`)).reverse()) await umount(m.mountPoint).catch(() => undefined);
  for (const l of (await listLoops()).filter((x) => x.backingFile.startsWith(`${dir}/`))) await detachLoop(l.device).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('syscalls: skipped (mount and loop devices need root)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'flocker-bench-syscalls-'));
  try {
    mkdirSync(join(dir, 'source'));
    mkdirSync(join(dir, 'target'));
    const image = join(dir, 'volume.img');
    writeFileSync(image, '');
    truncateSync(image, 64 << 20);
    await run('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,nodiscard', image]);
    const before: Timings = new Map();
    const after: Timings = new Map();
    await round(syscalls, new Map(), dir, image); // loads the FFI addon: not a cost per step
    for (let i = 0; i < ROUNDS; i++) {
      await round(spawned, before, dir, image);
      await round(syscalls, after, dir, image);
    }
    const f = (ms: number) => (ms < 1 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`);
    console.log(`storage steps, spawned vs system call (${ROUNDS} rounds, p50 / p90):`);
    let spawnTotal = 0;
    let callTotal = 0;
    for (const [step, spawnTimes] of before) {
      const callTimes = after.get(step) ?? [];
      spawnTotal += pct(spawnTimes, 50);
      callTotal += pct(callTimes, 50);
      console.log(`  ${step.padEnd(14)} spawned ${f(pct(spawnTimes, 50))} / ${f(pct(spawnTimes, 90))}   system call ${f(pct(callTimes, 50))} / ${f(pct(callTimes, 90))}`);
    }
    console.log(`  sum of p50s    spawned ${f(spawnTotal)}   system call ${f(callTotal)}`);
  } finally {
    await cleanUp(dir);
  }
}

await main();
