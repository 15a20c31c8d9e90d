// Fail-over time of an agent after its control replica dies (printed, never asserted): two
// replicas over a real 3-member etcd, two real agents (directory backend) listing both. Each
// round kills the replica the agents use with -9 and times kill → the agent's hello shown on
// the other replica's event stream; then the killed replica comes back for the next round,
// which kills the other one.
// Runnable alone: node --import tsx test/bench/failover.ts
import { makeFailoverBed } from '../support/failover-bed.js';
import { until } from '../support/until.js';

const ROUNDS = Number(process.env.BENCH_FAILOVER_ROUNDS ?? 6);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export async function run(): Promise<void> {
  const bed = await makeFailoverBed({ replicas: 2, order: [[0, 1], [0, 1]] });
  const times: number[] = [];
  try {
    await Promise.all([bed.startReplica(0), bed.startReplica(1)]);
    bed.agents.forEach((_, i) => bed.startAgent(i));
    const [a, b] = bed.replicas;
    await until('both agents to connect', () => bed.agents.every((x) => a!.feed?.heardSince(x.uuid, 0) !== undefined && b!.feed?.heardSince(x.uuid, 0) !== undefined), 120_000);
    for (let round = 0; round < ROUNDS; round++) {
      const [dying, other] = round % 2 === 0 ? [a!, b!] : [b!, a!];
      const killed = Date.now();
      await dying.proc!.kill9();
      const at = await until('both agents on the other replica', () => {
        const seen = bed.agents.map((x) => other.feed?.heardSince(x.uuid, killed));
        return seen.every((t) => t !== undefined) ? (seen as number[]) : undefined;
      }, 60_000, 2);
      times.push(...at.map((t) => t - killed));
      await bed.startReplica(round % 2 === 0 ? 0 : 1);
    }
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${bed.logs()}`);
  } finally {
    await bed.cleanup();
  }
  console.log(`Fail-over of an agent after its control replica is killed with -9 (2 replicas, etcd 3 members, ${ROUNDS} rounds × ${bed.agents.length} agents):`);
  console.log(`  kill → agent's hello on the other replica   p50 ${pct(times, 50).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
