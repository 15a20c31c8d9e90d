// --metrics-listen and agent.yml's metrics-listen: ADDR:PORT, [v6]:PORT or a bare PORT on
// 127.0.0.1; anything else is one clear error naming what was wrong.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { UserError } from '../../src/errors.js';
import { parseMetricsListen } from '../../src/metrics/listen.js';

test('forms accepted, bound to 127.0.0.1 unless told otherwise', () => {
  assert.equal(parseMetricsListen('9101'), { host: '127.0.0.1', port: 9101 });
  assert.equal(parseMetricsListen('0.0.0.0:9101'), { host: '0.0.0.0', port: 9101 });
  assert.equal(parseMetricsListen('[::1]:9101'), { host: '::1', port: 9101 });
  assert.equal(parseMetricsListen('localhost:0'), { host: 'localhost', port: 0 });
});

test('bad forms are a UserError that says what is expected', () => {
  for (const bad of ['', 'abc', '1.2.3.4:', ':9101', '1.2.3.4:70000', '::1:9101', '[zz]:1', '1.2.3.4:9x']) {
    try {
      parseMetricsListen(bad);
      assert.unreachable(bad);
    } catch (e) {
      assert.instance(e, UserError, bad);
      assert.match((e as Error).message, /expected ADDR:PORT/);
    }
  }
});

test('agent.yml metrics-listen: a port (YAML number) or ADDR:PORT; absent means off; bad names the key', () => {
  const base = 'version: 1\ncontrol-service: {hostname: 127.0.0.1}\ndataset: {backend: directory}\n';
  assert.is(parseAgentConfig(base, '/etc/flocker/agent.yml').metricsListen, undefined);
  assert.equal(parseAgentConfig(`${base}metrics-listen: 9101\n`, '/etc/flocker/agent.yml').metricsListen, { host: '127.0.0.1', port: 9101 });
  assert.equal(parseAgentConfig(`${base}metrics-listen: 10.0.0.5:9101\n`, '/etc/flocker/agent.yml').metricsListen, { host: '10.0.0.5', port: 9101 });
  assert.throws(() => parseAgentConfig(`${base}metrics-listen: nope\n`, '/etc/flocker/agent.yml'), /agent\.yml: metrics-listen: .*expected ADDR:PORT/);
});

test.run();
