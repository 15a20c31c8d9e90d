// `flocker cluster up` end to end: real control and agent processes, real TLS, a real pool.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, childPids, mountsUnder, startCluster } from '../support/cluster.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(150);
  }
}

test('two nodes come up, cluster.json describes them, a dataset converges, SIGTERM stops everything', async () => {
  const c = await startCluster({ nodes: 2 });
  try {
    const info = JSON.parse(readFileSync(join(c.dir, 'cluster.json'), 'utf8')) as Record<string, unknown>;
    assert.is(info['api'], `https://127.0.0.1:${c.apiPort}`);
    assert.is(info['user'], 'user');
    assert.is(info['certs_path'], join(c.dir, 'certs'));
    assert.is(c.nodes.length, 2);
    assert.equal(c.nodes.map((n) => n.mount_root), [join(c.dir, 'node-1', 'mnt'), join(c.dir, 'node-2', 'mnt')]);
    const reported = (await c.client.stateNodes()).map((n) => n.uuid).sort();
    assert.equal(reported, c.nodes.map((n) => n.uuid).sort());

    const [a] = c.nodes;
    const ds = await c.client.createDataset({ primary: a!.uuid, metadata: { name: 'e2e' } });
    const path = join(a!.mount_root, ds.dataset_id);
    await eventually('the dataset to be exposed on node-1', () => (existsSync(path) ? true : undefined));
    writeFileSync(join(path, 'hello.txt'), 'hi');
    await eventually('the convergence log line', () => (/dataset e2e converged on \w{8}/.test(c.output()) ? true : undefined));

    const second = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'cluster', 'up', '--dir', c.dir, '--no-dashboard', '--api-port', '0', '--agent-port', '0'],
      { encoding: 'utf8', timeout: 30_000 });
    assert.is(second.status, 1, second.stderr);
    assert.match(second.stderr, /a cluster is already running in/);
    assert.ok(existsSync(join(c.dir, 'cluster.json')), 'the second cluster up left the first alone');

    const pids = childPids(c);
    assert.is(pids.length, 3, 'control and two agents');
    process.kill(c.pid, 'SIGTERM');
    assert.is(await c.exited, 0, c.output());
    assert.ok(/cluster up: stopped/.test(c.output()));
    for (const p of pids) assert.not.ok(alive(p.pid), `${p.name} still running`);
    assert.equal(mountsUnder(c.dir), [], 'nothing left mounted');
    assert.not.ok(existsSync(join(c.dir, 'cluster.json')), 'cluster.json removed once stopped');
    assert.ok(existsSync(join(c.dir, 'pool')), 'the data stays in the pool');
  } finally {
    await c.stop();
  }
});

test.run();
