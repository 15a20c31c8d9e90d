// agent.yml through its one schema: the Wave 2 keys, their defaults, and errors that name the key.
import { hostname } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/flocker/agent.yml';
const BASE = 'version: 1\ncontrol-service: {hostname: 10.0.0.1}\ndataset: {backend: directory}\n';

function problem(text: string): { key: string | undefined; message: string } {
  try {
    parseAgentConfig(text, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return { key: e.key, message: e.message };
    throw e;
  }
  throw new Error('expected a ConfigError');
}

test('defaults: name is the host name, one control service on 4524, transfer on 0.0.0.0:4526, no metrics', () => {
  const c = parseAgentConfig(BASE, FILE);
  assert.is(c.name, hostname());
  assert.equal(c.controlServices, [{ hostname: '10.0.0.1', port: 4524 }]);
  assert.equal(c.controlService, { hostname: '10.0.0.1', port: 4524 });
  assert.equal(c.dataset.transfer, { port: 4526, listen: '0.0.0.0' });
  assert.is(c.metricsListen, undefined);
  assert.is(c.dataset.rootPath, '/var/lib/flocker/pool');
});

test('control-service as a list keeps its order; the first is controlService', () => {
  const c = parseAgentConfig(BASE.replace('{hostname: 10.0.0.1}', '\n  - {hostname: a, port: 1}\n  - {hostname: b}'), FILE);
  assert.equal(c.controlServices, [{ hostname: 'a', port: 1 }, { hostname: 'b', port: 4524 }]);
  assert.equal(c.controlService, { hostname: 'a', port: 1 });
});

test('name, metrics-listen, p2p backend and transfer are read', () => {
  const c = parseAgentConfig(
    'version: 1\nname: db-1\nmetrics-listen: 127.0.0.1:9101\ncontrol-service: {hostname: h}\n'
      + 'dataset: {backend: p2p, transfer: {port: 5000, listen: 10.1.1.1}}\n', FILE);
  assert.is(c.name, 'db-1');
  assert.equal(c.metricsListen, { host: '127.0.0.1', port: 9101 });
  assert.is(c.dataset.backend, 'p2p');
  assert.equal(c.dataset.transfer, { port: 5000, listen: '10.1.1.1' });
});

test('errors name the key, inside a list too', () => {
  assert.equal(problem(BASE.replace('{hostname: 10.0.0.1}', '[{hostname: a}, {port: 4}]')),
    { key: 'control-service.1.hostname', message: `${FILE}: control-service.1.hostname: required key is missing` });
  assert.is(problem(BASE.replace('{hostname: 10.0.0.1}', '[]')).key, 'control-service');
  assert.is(problem(BASE.replace('{hostname: 10.0.0.1}', '{hostname: a, prot: 4}')).message,
    `${FILE}: control-service.prot: unknown key (known: hostname, port)`);
  assert.is(problem(BASE.replace('{hostname: 10.0.0.1}', '7')).message, `${FILE}: control-service: must be a mapping, got number 7`);
  assert.is(problem(`${BASE}name: "-x"\n`).key, 'name');
  assert.match(problem(`${BASE}metrics-listen: "x:y"\n`).message, `${FILE}: metrics-listen: value "x:y": the port must be a number`);
  assert.is(problem(`${BASE}metrics-listen: [1]\n`).message, `${FILE}: metrics-listen: must be a string or an integer, got a list`);
  assert.is(problem(`${BASE}metrics-listen: "[::1]:70000"\n`).key, 'metrics-listen');
  assert.is(problem(BASE.replace('backend: directory', 'backend: directory, transfer: {port: 0}')).key, 'dataset.transfer.port');
  assert.is(problem(BASE.replace('backend: directory', 'backend: zfs')).message,
    `${FILE}: dataset.backend: unknown backend "zfs" (choose "directory", "loopback", "p2p")`);
  assert.is(problem('- a\n').message, `${FILE}: expected a YAML mapping at the top level`);
});

test.run();
