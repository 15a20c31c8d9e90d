// `flocker cluster up --isolate` (root): every node its own host — own network namespace and
// address on a bridge, own mount namespace, own pool. A node's host in /v1/state/nodes is its
// own address; a dataset is mounted only inside its node's mount namespace; Ctrl-C (SIGINT)
// leaves no namespace, link, mount or loop device behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { childPids, currentMounts, startCluster } from '../support/cluster.js';
import { until } from '../support/until.js';

const isRoot = process.getuid?.() === 0;
const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const loopsUnder = (dir: string): string[] => sh('losetup', ['--list', '--noheadings', '-O', 'NAME,BACK-FILE']).split('\n').filter((l) => l.includes(`${dir}/`));

test('each node is its own host: own address reported, dataset mounted only in its mount namespace; SIGINT removes everything', async () => {
  if (!isRoot) return console.log('skipped: --isolate needs root');
  const c = await startCluster({ nodes: 2, backend: 'loopback', isolate: true });
  const bridge = /hosts: bridge (flk[0-9a-f]{4}) /.exec(c.output())?.[1] ?? '';
  try {
    assert.ok(bridge, `cluster up names its bridge:\n${c.output()}`);
    const [n1, n2] = c.nodes as [typeof c.nodes[0], typeof c.nodes[0]];
    assert.ok(n1.address && n2.address && n1.netns && n2.netns);
    assert.is.not(n1.address, n2.address);
    assert.is.not(new URL(c.api).hostname, '127.0.0.1', 'control listens on the bridge');

    // Each node reports the address it has in its own namespace.
    const hosts = new Map((await c.client.stateNodes()).map((n) => [n.uuid, n.host]));
    for (const n of [n1, n2]) {
      assert.is(hosts.get(n.uuid), n.address);
      assert.match(sh('ip', ['-n', n.netns as string, '-o', '-4', 'addr', 'show', 'dev', 'eth0']), ` ${n.address}/24 `);
    }

    const ds = await c.client.createDataset({ primary: n1.uuid, maximum_size: 64 * 1024 * 1024 });
    const mountPoint = join(n1.mount_root, ds.dataset_id);
    const agentPid = (name: string): number => childPids(c).find((p) => p.name === `agent ${name}`)?.pid ?? -1;
    const inNode = (name: string): string => sh('nsenter', ['-t', String(agentPid(name)), '-m', 'cat', '/proc/self/mountinfo']);
    await until('the dataset mounted in node-1', async () => (await c.client.stateDatasets()).some((d) => d.dataset_id === ds.dataset_id && d.path === mountPoint), 90_000)
      .catch((e: Error) => { throw new Error(`${e.message}\n${c.output()}`); });
    assert.match(inNode('node-1'), ` ${mountPoint} `);
    assert.not.ok(currentMounts().some((m) => m.mountPoint === mountPoint), 'not mounted in the default namespace');
    assert.not.match(inNode('node-2'), ` ${mountPoint} `, 'nor in the other node');
    assert.is(loopsUnder(join(c.dir, 'node-1', 'pool')).length, 1, 'node-1\'s own pool backs it');

    process.kill(c.pid, 'SIGINT');
    assert.is(await c.exited, 0, c.output());
    assert.not.match(sh('ip', ['netns', 'list']), bridge, 'no namespace left');
    assert.not.match(sh('ip', ['-o', 'link']), bridge, 'no link left');
    assert.not.ok(currentMounts().some((m) => m.mountPoint.startsWith(`${c.dir}/`) || m.mountPoint.includes(bridge)), 'no mount left');
    assert.equal(loopsUnder(c.dir), [], 'no loop device left');
    assert.not.ok(existsSync(join(c.dir, 'hosts.json')));
    assert.not.ok(existsSync(`/run/flocker-hosts/${bridge}`));
  } finally {
    await c.stop();
  }
});

test('--isolate --backend p2p: a dataset moves from one host to the other over the network, data intact, nothing left after SIGINT', async () => {
  if (!isRoot) return console.log('skipped: --isolate needs root');
  const c = await startCluster({ nodes: 2, backend: 'p2p', isolate: true });
  try {
    const [n1, n2] = c.nodes as [typeof c.nodes[0], typeof c.nodes[0]];
    const agentPid = (name: string): string => String(childPids(c).find((p) => p.name === `agent ${name}`)?.pid ?? -1);
    const inNode = (name: string, script: string): string => sh('nsenter', ['-t', agentPid(name), '-m', 'sh', '-ec', script]);
    const ds = await c.client.createDataset({ primary: n1.uuid, maximum_size: 64 * 1024 * 1024 });
    const at = (n: typeof n1): string => join(n.mount_root, ds.dataset_id);
    const mountedOn = async (n: typeof n1): Promise<boolean> =>
      (await c.client.stateDatasets()).some((d) => d.dataset_id === ds.dataset_id && d.primary === n.uuid && d.path === at(n));
    await until('the dataset mounted on node-1', () => mountedOn(n1), 90_000).catch((e: Error) => { throw new Error(`${e.message}\n${c.output()}`); });
    const sum = inNode('node-1', `head -c 4M /dev/urandom > ${at(n1)}/data; sync; sha256sum < ${at(n1)}/data`);

    await c.client.moveDataset(ds.dataset_id, n2.uuid);
    await until('the dataset mounted on node-2', () => mountedOn(n2), 180_000).catch((e: Error) => { throw new Error(`${e.message}\n${c.output()}`); });
    assert.is(inNode('node-2', `sha256sum < ${at(n2)}/data`), sum, 'same bytes on the other host');
    assert.not.match(inNode('node-1', 'cat /proc/self/mountinfo'), ` ${at(n1)} `, 'no longer mounted on node-1');

    process.kill(c.pid, 'SIGINT');
    assert.is(await c.exited, 0, c.output());
    assert.not.ok(currentMounts().some((m) => m.mountPoint.startsWith(`${c.dir}/`)), 'no mount left');
    assert.equal(loopsUnder(c.dir), [], 'no loop device left (images and pools)');
  } finally {
    await c.stop();
  }
});

function plugin(socketPath: string, path: string, body: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('--isolate --plugins: each plugin runs in its node\'s host, and the volumes it mounts are seen where Docker runs', async () => {
  if (!isRoot) return console.log('skipped: --isolate needs root');
  const c = await startCluster({ nodes: 2, backend: 'loopback', isolate: true, plugins: true });
  try {
    const [n1] = c.nodes as [typeof c.nodes[0]];
    const socket = join(c.dir, 'node-1', 'plugin.sock');
    assert.equal(await plugin(socket, '/VolumeDriver.Create', { Name: 'isolated-vol', Opts: { size: '64M' } }), { Err: '' });
    const mounted = await plugin(socket, '/VolumeDriver.Mount', { Name: 'isolated-vol', ID: 'c1' });
    assert.is(mounted.Err, '', JSON.stringify(mounted));
    const mountPoint = String(mounted.Mountpoint);
    assert.ok(mountPoint.startsWith(`${n1.mount_root}/`), mountPoint);
    assert.ok(currentMounts().some((m) => m.mountPoint === mountPoint), 'the volume is mounted where dockerd would look');
    const agent2 = childPids(c).find((p) => p.name === 'agent node-2')?.pid ?? -1;
    assert.not.match(sh('nsenter', ['-t', String(agent2), '-m', 'cat', '/proc/self/mountinfo']), ` ${mountPoint} `, 'the other node does not see it');
    process.kill(c.pid, 'SIGINT');
    assert.is(await c.exited, 0, c.output());
    assert.not.ok(currentMounts().some((m) => m.mountPoint.startsWith(`${c.dir}/`)), 'no mount left');
    assert.equal(loopsUnder(c.dir), [], 'no loop device left');
  } finally {
    await c.stop();
  }
});

test('without root, --isolate is one clear line', async () => {
  const r = (() => {
    try {
      return { out: execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', 'src/main.ts',
        'cluster', 'up', '--isolate', '--dir', '/nonexistent/x', '--no-dashboard'], { encoding: 'utf8', stdio: 'pipe' }), code: 0 };
    } catch (e) {
      const err = e as { status?: number; stderr?: Buffer | string };
      return { out: String(err.stderr ?? ''), code: err.status ?? -1 };
    }
  })();
  if (/setpriv/.test(r.out)) return console.log('skipped: setpriv unavailable');
  assert.is(r.code, 1);
  assert.match(r.out, /^flocker: --isolate gives every node its own network and mount namespace: run as root\n$/);
});

test.run();
