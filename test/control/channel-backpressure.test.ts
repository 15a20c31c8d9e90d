// An agent that stops reading the channel must not grow control without bound (two such agents
// once grew it to 532 MB): once more than a few messages' worth waits for it, it is dropped and
// will get a fresh snapshot when it reconnects.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { silentLogger } from '../../src/log.js';
import { createEdit } from '../../src/roles/control/edits.js';
import { asDatasetId, asNodeId } from '../../src/model/ids.js';
import { CHANNEL_PATH } from '../../src/protocol/channel.js';
import { startControlService } from '../../src/roles/control/service.js';
import { clientTlsOptions, readTlsMaterial } from '../../src/tls/options.js';
import { makeCerts } from '../support/certs.js';
import { until } from '../support/until.js';

const MAX_CHANGES = 600;

test('an agent that stops reading while the configuration keeps changing is dropped, not queued without bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-backpressure-'));
  const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  const svc = await startControlService({
    dataDir: join(dir, 'data'), certificatesDir: certs.dir, apiPort: 0, agentPort: 0, listen: '127.0.0.1', log: silentLogger(),
  });
  const node = certs.nodes[0]!;
  const ws = new WebSocket(`wss://127.0.0.1:${svc.agentPort}${CHANNEL_PATH}`, {
    ...clientTlsOptions(readTlsMaterial(node.certificatesDir, { cert: 'node.crt', key: 'node.key' })), maxPayload: 1 << 30,
  });
  try {
    let messages = 0;
    let closed = false;
    ws.on('message', () => { messages += 1; });
    ws.on('close', () => { closed = true; });
    ws.on('error', () => undefined);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ type: 'hello', version: 1, era: 'e1' }));
    await until('the first cluster message', () => messages > 0);
    ws.pause();
    // Large changes (the hub takes any metadata; the API would cap it), so the backlog grows fast.
    const metadata = { blob: 'x'.repeat(64 * 1024) };
    let changes = 0;
    for (; changes < MAX_CHANGES; changes++) {
      const r = await svc.hub.write(createEdit({ datasetId: asDatasetId(randomUUID()), primary: asNodeId(node.uuid), maximumSize: null, metadata }));
      assert.ok(r.ok);
      if (changes % 20 === 0 && svc.hub.cluster.nodes[node.uuid]?.connected === false) break;
    }
    ws.resume();
    await until('the stalled agent to be dropped', () => closed, 30_000);
    assert.ok(messages < changes, `${messages} messages for ${changes} changes`);
  } finally {
    ws.terminate();
    await svc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
