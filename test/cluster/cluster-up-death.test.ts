// `flocker cluster up` when a child dies: one line, everything stopped, non-zero exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { alive, childPids, startCluster } from '../support/cluster.js';

test('an agent dying brings the cluster down with one line naming it and a non-zero exit', async () => {
  const c = await startCluster({ nodes: 1 });
  try {
    const pids = childPids(c);
    const agent = pids.find((p) => p.name.startsWith('agent'));
    assert.ok(agent, JSON.stringify(pids));
    process.kill(agent!.pid, 'SIGKILL');
    const code = await c.exited;
    assert.is(code, 1, c.output());
    const lines = c.output().split('\n').filter((l) => l.startsWith('flocker: '));
    assert.is(lines.length, 1, c.output());
    assert.match(lines[0]!, /agent node-1 was killed by SIGKILL/);
    for (const p of pids) assert.not.ok(alive(p.pid), `${p.name} still running`);
  } finally {
    await c.stop();
  }
});

test('a test process killed with -9 does not leak its cluster (--exit-with-parent)', async () => {
  const fixture = spawn(process.execPath, ['--import', 'tsx', join('test', 'cluster', 'fixtures', 'start-and-hang.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  fixture.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  const deadline = Date.now() + 60_000;
  while (!out.includes('\n')) {
    assert.ok(Date.now() < deadline && fixture.exitCode === null, `fixture did not start a cluster: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const { dir, pid } = JSON.parse(out) as { dir: string; pid: number };
  const children = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map((l) => Number(l.split(' ')[0]));
  fixture.kill('SIGKILL');
  try {
    const until = Date.now() + 30_000;
    while ([pid, ...children].some(alive)) {
      assert.ok(Date.now() < until, 'cluster up or its children outlived the killed test process');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    for (const p of [pid, ...children]) if (alive(p)) process.kill(p, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
