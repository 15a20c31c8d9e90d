// An agent that stops reading the channel is owed only the newest `cluster` message: control
// keeps at most one in flight per agent instead of queueing every change (two agents that
// stopped reading once grew control to 532 MB). When the agent reads again it gets the latest.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { silentLogger } from '../../src/log.js';
import { createDataset } from '../../src/model/deployment.js';
import { asDatasetId, asNodeId } from '../../src/model/ids.js';
import { CHANNEL_PATH } from '../../src/protocol/channel.js';
import { startControlService } from '../../src/roles/control/service.js';
import { clientTlsOptions, readTlsMaterial } from '../../src/tls/options.js';
import { makeCerts } from '../support/certs.js';
import { until } from '../support/until.js';

const CHANGES = 150;

test(`an agent that stops reading during ${CHANGES} changes gets a few messages, the last one current, not all ${CHANGES}`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-backpressure-'));
  const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  const svc = await startControlService({
    dataDir: join(dir, 'data'), certificatesDir: certs.dir, apiPort: 0, agentPort: 0, listen: '127.0.0.1', log: silentLogger(),
  });
  const node = certs.nodes[0]!;
  const ws = new WebSocket(`wss://127.0.0.1:${svc.agentPort}${CHANNEL_PATH}`, {
    ...clientTlsOptions(readTlsMaterial(node.certificatesDir, { cert: 'node.crt', key: 'node.key' })), maxPayload: 1 << 30,
  });
  // The generation of the newest change pushed to agents (a convergence-only change is not pushed).
  let pushed = 0;
  svc.hub.on('change', (sections, generation) => {
    if (!(sections.size === 1 && sections.has('convergence'))) pushed = generation;
  });
  try {
    const generations: number[] = [];
    ws.on('message', (data) => generations.push((JSON.parse(data.toString()) as { generation: number }).generation));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ type: 'hello', version: 1, era: 'e1' }));
    await until('the first cluster message', () => generations.length > 0);
    ws.pause();
    // Every change carries the whole configuration: make each one large.
    const metadata = Object.fromEntries(Array.from({ length: 15 }, (_, k) => [`k${k}`, 'x'.repeat(256)]));
    for (let i = 0; i < CHANGES; i++) {
      const r = createDataset(svc.hub.deployment, { datasetId: asDatasetId(randomUUID()), primary: asNodeId(node.uuid), maximumSize: null, metadata });
      assert.ok(r.ok);
      await svc.hub.commit(r.value.deployment);
    }
    const seenBefore = generations.length;
    ws.resume();
    await until('the newest configuration to arrive', () => generations.length > seenBefore && (generations.at(-1) ?? 0) >= pushed, 30_000);
    assert.ok(generations.length < CHANGES / 2, `${generations.length} messages for ${CHANGES} changes: older ones were superseded, not queued`);
  } finally {
    ws.terminate();
    await svc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
