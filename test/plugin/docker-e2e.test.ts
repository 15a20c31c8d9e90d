// The plugin under a real Docker engine, against a real two-node cluster (control + 2 agents,
// directory backend). One engine plays both hosts: each node's plugin is its own driver
// (a socket in /run/docker/plugins), so "the other node" is the other driver.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiDatasetConfig } from '../../src/protocol/api-json.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { docker, dockerTry, ensureDocker } from '../support/docker.js';
import { pluginCall, startPlugin, type PluginProcess } from './support.js';
import { skipTest } from '../support/skip.js';
import { until } from '../support/until.js';

const run = randomBytes(3).toString('hex');
// Stable driver names: dockerd remembers every driver it has seen and retries dead ones for 15 s
// on each `docker volume ls`, so a new name per run would slow every later run down.
const A = 'flockertesta'; // driver of node 1 ("this host")
const B = 'flockertestb'; // driver of node 2 ("the other host")
const sockA = `/run/docker/plugins/${A}.sock`;
const sockB = `/run/docker/plugins/${B}.sock`;
const vol = (n: string): string => `v${run}-${n}`;

let skip: string | undefined;
let image = '';
let cluster: TestCluster | undefined;
let pa: PluginProcess | undefined;
let pb: PluginProcess | undefined;
const containers: string[] = [];
const volumes: string[] = [];

async function byName(name: string): Promise<ApiDatasetConfig | undefined> {
  const { datasets } = await cluster!.client.listDatasets();
  return datasets.find((d) => !d.deleted && d.metadata['name'] === name);
}

test.before(async () => {
  const env = await ensureDocker();
  if (!env.available) {
    skip = env.reason;
    console.log(`SKIPPING docker end-to-end tests: ${env.reason}`);
    return;
  }
  image = env.image;
  cluster = await startCluster({ nodes: 2 });
  [pa, pb] = await Promise.all([
    startPlugin(cluster.nodes[0]!.config, sockA, ['--mount-timeout', '30']),
    startPlugin(cluster.nodes[1]!.config, sockB, ['--mount-timeout', '30']),
  ]);
});

test.after(async () => {
  for (const c of containers) await dockerTry(['rm', '-f', c]);
  for (const v of volumes) await dockerTry(['volume', 'rm', '-f', v]);
  await pa?.stop();
  await pb?.stop();
  await cluster?.stop();
});

const it = (name: string, fn: () => Promise<void>): void => {
  test(name, async () => {
    if (skip) return skipTest(`docker: ${skip}`);
    await fn();
  });
};

it('volume create, run, ls, inspect; the lease is gone after the container', async () => {
  const v = vol('basic');
  volumes.push(v);
  await docker(['volume', 'create', '-d', A, '--name', v, '-o', 'size=100M']);
  const ds = await byName(v);
  assert.ok(ds, 'dataset created');
  assert.is(ds!.maximum_size, 100 * 1024 * 1024);
  assert.is(ds!.primary, cluster!.nodes[0]!.uuid);

  await docker(['run', '--rm', '-v', `${v}:/data`, '--volume-driver', A, image, 'sh', '-c', 'echo hi > /data/f']);
  const path = join(cluster!.nodes[0]!.mount_root, ds!.dataset_id, 'f');
  assert.is(readFileSync(path, 'utf8'), 'hi\n');
  assert.is((await docker(['run', '--rm', '-v', `${v}:/data`, image, 'cat', '/data/f'])).trim(), 'hi');

  const ls = await docker(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']);
  assert.ok(ls.split('\n').includes(`${A} ${v}`), ls);
  const inspect = JSON.parse(await docker(['volume', 'inspect', v])) as { Driver: string; Name: string; Scope: string }[];
  assert.is(inspect[0]!.Driver, A);
  assert.is(inspect[0]!.Scope, 'global');
  const leases = await cluster!.client.listLeases();
  assert.not.ok(leases.some((l) => l.dataset_id === ds!.dataset_id), 'last unmount released the lease');
});

it('a volume written on the other node moves here for docker run, data identical', async () => {
  const v = vol('moved');
  volumes.push(v);
  const [n1, n2] = [cluster!.nodes[0]!, cluster!.nodes[1]!];
  const ds = await cluster!.client.createDataset({ primary: n2.uuid, maximum_size: 64 * 1024 * 1024, metadata: { name: v } });
  const path = await until('mounted on node 2', async () =>
    (await cluster!.client.stateDatasets()).find((s) => s.dataset_id === ds.dataset_id && s.primary === n2.uuid)?.path, 30_000);
  const data = randomBytes(64 * 1024).toString('base64');
  writeFileSync(join(path, 'f'), data);
  const out = await docker(['run', '--rm', '-v', `${v}:/data`, '--volume-driver', A, image, 'cat', '/data/f']);
  assert.is(out, data);
  assert.is((await byName(v))!.primary, n1.uuid);
});

it('Mount and Remove are refused while the other node holds a lease', async () => {
  const v = vol('leased');
  const c = `c${run}-leased`;
  volumes.push(v);
  containers.push(c);
  const n2 = cluster!.nodes[1]!;
  await docker(['run', '-d', '--name', c, '-v', `${v}:/data`, '--volume-driver', B, image, 'sleep', '120']);
  const ds = await byName(v);
  assert.is(ds!.primary, n2.uuid);
  assert.ok((await cluster!.client.listLeases()).some((l) => l.dataset_id === ds!.dataset_id && l.node_uuid === n2.uuid));

  const t0 = Date.now();
  const m = await pluginCall(sockA, '/VolumeDriver.Mount', { Name: v, ID: 'e2e' });
  assert.match(String(m.Err), new RegExp(`in use on node ${n2.uuid}`));
  assert.ok(Date.now() - t0 < 5000, 'refused at once');
  const r = await pluginCall(sockA, '/VolumeDriver.Remove', { Name: v });
  assert.match(String(r.Err), /in use on node/);
  assert.is((await byName(v))!.primary, n2.uuid, 'never moved');

  await docker(['rm', '-f', c]);
  await until('lease released', async () =>
    (await cluster!.client.listLeases()).some((l) => l.dataset_id === ds!.dataset_id) ? undefined : true, 30_000);
  await docker(['volume', 'rm', v]);
  const all = (await cluster!.client.listDatasets()).datasets;
  assert.is(all.find((d) => d.dataset_id === ds!.dataset_id)!.deleted, true);
});

it('two containers on one host share a volume; the lease lasts until the last one stops', async () => {
  const v = vol('shared');
  const [c1, c2] = [`c${run}-s1`, `c${run}-s2`];
  volumes.push(v);
  containers.push(c1, c2);
  await docker(['volume', 'create', '-d', A, '--name', v]);
  await docker(['run', '-d', '--name', c1, '-v', `${v}:/data`, '--volume-driver', A, image, 'sh', '-c', 'echo one > /data/one; sleep 120']);
  await docker(['run', '-d', '--name', c2, '-v', `${v}:/data`, '--volume-driver', A, image, 'sleep', '120']);
  const seen = await until('c2 sees c1\'s file', async () => {
    const r = await dockerTry(['exec', c2, 'cat', '/data/one']);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }, 30_000);
  assert.is(seen, 'one');
  const id = (await byName(v))!.dataset_id;
  const leased = async (): Promise<boolean> => (await cluster!.client.listLeases()).some((l) => l.dataset_id === id);
  await docker(['rm', '-f', c1]);
  assert.ok(await leased(), 'still used by c2');
  await docker(['rm', '-f', c2]);
  assert.not.ok(await leased(), 'released by the last unmount');
});

it('a plugin restart remembers running containers: their later unmount still releases the lease', async () => {
  const v = vol('restart');
  const c = `c${run}-restart`;
  volumes.push(v);
  containers.push(c);
  await docker(['run', '-d', '--name', c, '-v', `${v}:/data`, '--volume-driver', A, image, 'sleep', '120']);
  const id = (await byName(v))!.dataset_id;
  const leased = async (): Promise<boolean> => (await cluster!.client.listLeases()).some((l) => l.dataset_id === id);
  assert.ok(await leased());
  await pa!.stop();
  pa = await startPlugin(cluster!.nodes[0]!.config, sockA, ['--mount-timeout', '30']);
  assert.ok(await leased(), 'a restart does not drop the lease of a running container');
  await docker(['rm', '-f', c]);
  assert.not.ok(await leased(), 'the restarted plugin knew this was the last mount');
});

it('docker volume rm deletes the dataset and the name is reusable at once', async () => {
  const v = vol('reuse');
  volumes.push(v);
  await docker(['volume', 'create', '-d', A, '--name', v]);
  const first = (await byName(v))!.dataset_id;
  await docker(['volume', 'rm', v]);
  assert.is(await byName(v), undefined);
  await docker(['volume', 'create', '-d', A, '--name', v]);
  const second = (await byName(v))!.dataset_id;
  assert.is.not(second, first);
  const bad = await dockerTry(['volume', 'create', '-d', A, '--name', vol('bad'), '-o', 'size=10Gfoo']);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /invalid size "10Gfoo"/);
});

test.run();
