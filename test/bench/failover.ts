// Fail-over time of an agent after its control replica dies (printed, never asserted): two
// replicas over a real 3-member etcd, two real agents (directory backend) listing both. Each
// round takes away the replica the agents use (kill -9, or SIGSTOP: a dead machine sends no
// FIN) and times that → the agent's hello shown on the other replica's event stream; then the
// cut replica comes back for the next round, which cuts the other one.
// Runnable alone: node --import tsx test/bench/failover.ts
import type { Proc } from '../agent/harness.js';
import { makeFailoverBed } from '../support/failover-bed.js';
import { until } from '../support/until.js';

const ROUNDS = Number(process.env.BENCH_FAILOVER_ROUNDS ?? 4);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** How a round takes the agents' replica away. */
const CUTS = {
  'killed with -9': (p: Proc) => p.kill9(),
  // A machine that dies or drops off the network: no FIN, only silence.
  'frozen (SIGSTOP)': async (p: Proc) => { p.child.kill('SIGSTOP'); },
} as const;

export async function run(): Promise<void> {
  const bed = await makeFailoverBed({ replicas: 2, order: [[0, 1], [0, 1]] });
  const times = new Map<string, number[]>();
  let current = 0;
  try {
    await Promise.all([bed.startReplica(0), bed.startReplica(1)]);
    bed.agents.forEach((_, i) => bed.startAgent(i));
    const [a, b] = bed.replicas;
    await until('both agents to connect', () => bed.agents.every((x) => a!.feed?.heardSince(x.uuid, 0) !== undefined && b!.feed?.heardSince(x.uuid, 0) !== undefined), 120_000);
    for (const [how, cut] of Object.entries(CUTS)) {
      const xs: number[] = [];
      times.set(how, xs);
      for (let round = 0; round < ROUNDS; round++) {
        const dying = bed.replicas[current]!;
        const other = bed.replicas[1 - current]!;
        const t0 = Date.now();
        await cut(dying.proc!);
        const at = await until(`both agents on replica ${other.name}`, () => {
          const seen = bed.agents.map((x) => other.feed?.heardSince(x.uuid, t0));
          return seen.every((t) => t !== undefined) ? (seen as number[]) : undefined;
        }, 60_000, 2);
        xs.push(...at.map((t) => t - t0));
        await dying.proc!.kill9();
        await bed.startReplica(current);
        current = 1 - current;
      }
    }
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${bed.logs()}`);
  } finally {
    await bed.cleanup();
  }
  console.log(`Fail-over of an agent whose control replica goes away: 2 replicas over a 3-member etcd, ${bed.agents.length} agents, ${ROUNDS} rounds each;`);
  console.log('time from the cut to the agent\'s hello shown on the other replica\'s event stream:');
  for (const [how, xs] of times) console.log(`  replica ${how.padEnd(18)} p50 ${pct(xs, 50).toFixed(0).padStart(5)} ms, max ${Math.max(...xs).toFixed(0).padStart(5)} ms`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
