// Prometheus metrics end to end: a real control service, agent and Docker plugin, each started
// with a metrics listener, scraped over plain HTTP and parsed. The named series exist and move
// when the cluster does something; the API port does not serve them.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { makeTestBed, until, type TestBed } from '../agent/harness.js';
import { pluginCall, startPlugin, type PluginProcess } from '../plugin/support.js';
import { freePort } from '../support/ports.js';
import { parseExposition, total, type Exposition } from './parse.js';

const dir = mkdtempSync(join(tmpdir(), 'flocker-metrics-e2e-'));
let bed: TestBed;
let plugin: PluginProcess | undefined;
const ports = { control: 0, agent: 0, plugin: 0 };

async function scrape(port: number): Promise<Exposition> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

test.before(async () => {
  bed = await makeTestBed(dir, 1);
  ports.control = await freePort();
  ports.agent = await freePort();
  ports.plugin = await freePort();
  // Only a port: bound to 127.0.0.1.
  await bed.startControl(['--metrics-listen', String(ports.control)]);
  appendFileSync(bed.nodes[0]!.config, `metrics-listen: 127.0.0.1:${ports.agent}\n`);
  bed.startAgent(0);
  const pluginYml = join(dir, 'plugin.yml');
  writeFileSync(pluginYml, stringify({
    version: 1,
    'control-service': { hostname: '127.0.0.1', port: bed.agentPort },
    dataset: { backend: 'directory', root_path: bed.pool, mount_root: bed.nodes[0]!.mountRoot },
    'certificates-dir': bed.certs.nodes[0]!.certificatesDir,
    'state-dir': join(dir, 'plugin-state'),
    plugin: { 'api-port': bed.apiPort },
  }));
  plugin = await startPlugin(pluginYml, join(dir, 'sock', `m${process.pid}.sock`), ['--metrics-listen', `127.0.0.1:${ports.plugin}`]);
  await bed.until('the agent to report', async () => ((await bed.client.stateNodes()).length === 1 ? true : undefined), 60_000);
});

test.after(async () => {
  await plugin?.stop();
  await bed?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('control: requests counted by route pattern, agents connected, store writes, pushes, datasets by phase', async () => {
  const before = await scrape(ports.control);
  const created = 'flocker_control_api_request_duration_seconds_count';
  const createLabels = { route: '/v1/configuration/datasets', method: 'POST', status: '201' };
  const ds = await bed.client.createDataset({ primary: bed.nodes[0]!.uuid, maximum_size: 67_108_864 });
  await bed.client.moveDataset(ds.dataset_id, bed.nodes[0]!.uuid);
  await bed.until('the dataset to converge', async () => (await bed.client.convergence()).find((r) => r.dataset_id === ds.dataset_id && r.phase === 'converged'), 30_000);
  const after = await until('the converged dataset to be counted', async () => {
    const m = await scrape(ports.control);
    return total(m, 'flocker_control_datasets', { phase: 'converged' }) >= 1 ? m : undefined;
  });
  assert.is(total(after, created, createLabels), total(before, created, createLabels) + 1);
  // The move is counted under the route's pattern, never under the dataset id.
  assert.ok(total(after, created, { route: '/v1/configuration/datasets/:dataset_id', method: 'POST', status: '200' }) >= 1);
  assert.not.ok(after.samples.some((s) => (s.labels['route'] ?? '').includes(ds.dataset_id)), 'no raw URL in a label');
  assert.is(total(after, 'flocker_control_agents_connected'), 1);
  assert.ok(total(after, 'flocker_control_store_write_duration_seconds_count') > total(before, 'flocker_control_store_write_duration_seconds_count'));
  assert.ok(total(after, 'flocker_control_config_push_duration_seconds_count') > total(before, 'flocker_control_config_push_duration_seconds_count'));
  assert.ok(total(after, 'flocker_control_config_pushes_total', { kind: 'delta' }) >= 1, 'changes go out as deltas');
  assert.is(after.types.get('flocker_control_api_request_duration_seconds'), 'histogram');
  assert.ok(total(after, 'process_resident_memory_bytes') > 0);
  assert.ok(after.types.has('process_cpu_seconds_total'));
});

test('agent: storage actions by kind, backend and outcome; loop iterations; report age; pushes applied', async () => {
  const before = await scrape(ports.agent);
  const ds = await bed.client.createDataset({ primary: bed.nodes[0]!.uuid, maximum_size: 67_108_864 });
  await bed.until('mounted', async () => (await bed.client.stateDatasets()).find((d) => d.dataset_id === ds.dataset_id && d.path), 30_000);
  const after = await until('the create to be counted', async () => {
    const m = await scrape(ports.agent);
    const c = { action: 'createVolume', backend: 'directory', outcome: 'ok' };
    return total(m, 'flocker_agent_action_duration_seconds_count', c) > total(before, 'flocker_agent_action_duration_seconds_count', c) ? m : undefined;
  });
  assert.ok(total(after, 'flocker_agent_loop_iterations_total') > total(before, 'flocker_agent_loop_iterations_total'));
  const age = total(after, 'flocker_agent_last_report_age_seconds');
  assert.ok(age >= 0 && age < 120, `report age ${age}`);
  assert.ok(total(after, 'flocker_agent_config_updates_total', { kind: 'snapshot' }) >= 1);
  assert.ok(total(after, 'flocker_agent_config_updates_total', { kind: 'delta' }) > total(before, 'flocker_agent_config_updates_total', { kind: 'delta' }));
  assert.is(after.types.get('flocker_agent_transfer_bytes_total'), 'counter');
  assert.ok(total(after, 'process_resident_memory_bytes') > 0);
});

test('plugin: Docker requests by endpoint and outcome', async () => {
  const before = await scrape(ports.plugin);
  const list = { endpoint: 'VolumeDriver.List', outcome: 'ok' };
  const get = { endpoint: 'VolumeDriver.Get', outcome: 'error' };
  await pluginCall(plugin!.socket, '/VolumeDriver.List', {});
  await pluginCall(plugin!.socket, '/VolumeDriver.Get', { Name: `nothing-${process.pid}` });
  const after = await scrape(ports.plugin);
  const n = 'flocker_plugin_request_duration_seconds_count';
  assert.is(total(after, n, list), total(before, n, list) + 1);
  assert.is(total(after, n, get), total(before, n, get) + 1);
  assert.ok(total(after, n, { endpoint: 'Plugin.Activate', outcome: 'ok' }) >= 1);
  assert.ok(total(after, 'process_resident_memory_bytes') > 0);
});

test('the metrics listener serves only /metrics; the API port never serves metrics', async () => {
  assert.is((await fetch(`http://127.0.0.1:${ports.control}/`)).status, 404);
  const user = bed.certs.users['user']!;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: bed.apiPort, path: '/metrics', servername: 'control-service',
      ca: readFileSync(bed.certs.caCert), cert: readFileSync(user.cert), key: readFileSync(user.key),
    }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.is(status, 404);
});

test.run();
