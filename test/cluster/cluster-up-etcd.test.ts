// `flocker cluster up --store etcd --control-replicas 2`: a local 3-member etcd, two control
// replicas on their own loopback addresses sharing one pair of ports, agents spread over them;
// a change through either replica converges; with replica 1 killed the plugins still answer
// through replica 2; stopping leaves no process (etcd included) behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { alive, childPids, startCluster } from '../support/cluster.js';
import { until } from '../support/until.js';
import { pluginCall } from '../plugin/support.js';

test('two replicas over a local etcd: changes through either converge on agents of both; plugins survive replica 1; Ctrl-C stops everything', async () => {
  const c = await startCluster({ nodes: 2, plugins: true, extraArgs: ['--store', 'etcd', '--control-replicas', '2'] });
  let pids: { pid: number; name: string }[] = [];
  try {
    const info = JSON.parse(readFileSync(join(c.dir, 'cluster.json'), 'utf8')) as { apis: string[]; store: string };
    assert.is(info.apis.length, 2);
    assert.match(info.store, /^etcd:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    pids = childPids(c);
    assert.is(pids.filter((p) => p.name.startsWith('etcd')).length, 3);
    assert.is(pids.filter((p) => p.name.startsWith('control')).length, 2);
    // Every agent lists both replicas, each starting at its own: spread out, and able to fail over.
    // The replicas share their ports on addresses of their own, so the plugin's one api-port
    // reaches either of them.
    const configs = c.nodes.map((n) => parseAgentConfig(readFileSync(n.config, 'utf8'), n.config));
    const lists = configs.map((cfg) => cfg.controlServices.map((a) => `${a.hostname}:${a.port}`));
    const agentPort = configs[0]!.controlServices[0]!.port;
    assert.equal(lists, [[`127.0.0.1:${agentPort}`, `127.0.0.2:${agentPort}`], [`127.0.0.2:${agentPort}`, `127.0.0.1:${agentPort}`]]);
    assert.equal(info.apis, [`https://127.0.0.1:${c.apiPort}`, `https://127.0.0.2:${c.apiPort}`]);
    assert.equal(configs.map((cfg) => cfg.plugin.apiPort), [c.apiPort, c.apiPort]);
    const second = clientFromCertsDir({ host: '127.0.0.2', port: c.apiPort, certsPath: c.certsPath, user: c.user });
    try {
      const [n1, n2] = c.nodes as [typeof c.nodes[0], typeof c.nodes[0]];
      // node-1's agent talks to replica 1: create through replica 2.
      const d = await second.createDataset({ primary: n1.uuid, metadata: { name: 'via-2' } });
      const path = await until('mounted on node-1', async () => (await c.client.stateDatasets()).find((s) => s.dataset_id === d.dataset_id && s.primary === n1.uuid)?.path, 30_000);
      assert.ok(existsSync(path));
      // node-2's agent talks to replica 2: move through replica 1.
      await c.client.moveDataset(d.dataset_id, n2.uuid);
      await until('moved to node-2', async () => ((await second.stateDatasets()).find((s) => s.dataset_id === d.dataset_id && s.primary === n2.uuid) ? true : undefined), 30_000);
      // Two reads at one instant may straddle a state report (attaching on one, converged on the
      // other): what must hold is that both replicas settle on the same converged view.
      const phases = async (cl: typeof second): Promise<string> => JSON.stringify((await cl.convergence()).map((r) => [r.dataset_id, r.phase]));
      await until('both replicas show it converged', async () => {
        const [x, y] = await Promise.all([phases(c.client), phases(second)]);
        return x === y && x === JSON.stringify([[d.dataset_id, 'converged']]) ? true : undefined;
      }, 30_000);

      // node-1's plugin uses replica 1 first; with it gone, Docker's calls go through replica 2.
      const socket = join(c.dir, 'node-1', 'plugin.sock');
      const first = pids.find((p) => p.name === 'control 1')!;
      process.kill(first.pid, 'SIGKILL');
      await until('replica 1 gone', async () => (alive(first.pid) ? undefined : true), 10_000);
      assert.equal(await pluginCall(socket, '/VolumeDriver.Create', { Name: 'after-failover', Opts: { size: '100M' } }), { Err: '' });
      const got = await pluginCall(socket, '/VolumeDriver.Get', { Name: 'after-failover' });
      assert.equal(got.Err, '');
      assert.equal((got.Volume as { Name: string }).Name, 'after-failover');
      assert.ok((await second.listDatasets()).datasets.some((d) => d.metadata?.name === 'after-failover'), 'created through replica 2');
      await until('cluster up reported the lost replica', async () => (/control 1 was killed by SIGKILL.*still serving: control 2/.test(c.output()) ? true : undefined), 10_000);
    } finally {
      second.close();
    }
  } finally {
    await c.stop();
  }
  for (const p of pids) assert.not.ok(alive(p.pid), `${p.name} (${p.pid}) stopped`);
});

test.run();
