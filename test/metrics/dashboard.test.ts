// The Grafana dashboard in docs/ reads only metrics the roles actually export: every flocker_*
// name in its queries is registered (histograms through their _bucket/_count/_sum series), and
// every metric the contract names is registered under that name.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { agentMetrics, controlMetrics, pluginMetrics, registry } from '../../src/metrics/registry.js';

controlMetrics();
agentMetrics();
pluginMetrics();
const registered = new Map(registry.getMetricsAsArray().map((m) => [m.name, m.type as unknown as string]));

function exists(series: string): boolean {
  if (registered.has(series)) return true;
  const m = /^(.*)_(bucket|count|sum)$/.exec(series);
  return m !== null && registered.get(m[1]!) === 'histogram';
}

test('every flocker_* series the dashboard queries is exported', () => {
  const dash = JSON.parse(readFileSync(new URL('../../docs/grafana-flocker.json', import.meta.url), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  const names = new Set(dash.panels.flatMap((p) => p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\bflocker_[a-z_]+/g)].map((m) => m[0])));
  assert.ok(names.size >= 10, `only ${names.size} metric names found`);
  assert.equal([...names].filter((n) => !exists(n)), []);
});

test('the metrics the contract names, with their types', () => {
  const expected: Record<string, string> = {
    flocker_control_api_request_duration_seconds: 'histogram',
    flocker_control_agents_connected: 'gauge',
    flocker_control_config_push_duration_seconds: 'histogram',
    flocker_control_store_write_duration_seconds: 'histogram',
    flocker_control_datasets: 'gauge',
    flocker_agent_action_duration_seconds: 'histogram',
    flocker_agent_transfer_bytes_total: 'counter',
    flocker_plugin_request_duration_seconds: 'histogram',
  };
  for (const [name, type] of Object.entries(expected)) assert.is(registered.get(name), type, name);
});

test.run();
