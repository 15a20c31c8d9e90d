// Fencing tokens in a real pool directory: the node a dataset was forced to records the fence
// before touching the volume; the fenced node, with a configuration that never heard of the fence
// (a partition), can no longer attach or mount it; given back on purpose, it can.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { poolFenceTokens } from '../../src/backends/fence-tokens.js';
import type { Action } from '../../src/converge/changes.js';
import type { Deployment } from '../../src/model/configuration.js';
import { fenceCheck } from '../../src/roles/agent/fencing.js';
import { A, B, D1, dataset, deployment, mp, vol } from '../converge/fixtures.js';
import { failure } from '../support/failure.js';

const pool = mkdtempSync(join(tmpdir(), 'flocker-fence-'));
test.after(() => rmSync(pool, { recursive: true, force: true }));

const attach: Action = { kind: 'attach', datasetId: D1, volumeId: vol(D1) };
const mount: Action = { kind: 'mount', datasetId: D1, volumeId: vol(D1), mountPoint: mp(D1) };
const detach: Action = { kind: 'detach', datasetId: D1, volumeId: vol(D1) };
const tokens = poolFenceTokens(pool);
const check = (node: typeof A, config: Deployment) => fenceCheck(tokens, node, () => config);

const before: Deployment = deployment([dataset(D1, A)]);
const forced: Deployment = deployment([dataset(D1, B, { fence: { node: A, era: 'e', epoch: 1 } })]);
const givenBack: Deployment = deployment([dataset(D1, A, { fence: { node: A, era: 'e', epoch: 1 } })]);

test('no token, no fence: everything allowed', async () => {
  await check(A, before)(attach);
  await check(A, before)(mount);
});

test('the node a dataset was forced to writes the token before touching the volume', async () => {
  await check(B, forced)(detach);
  const token = JSON.parse(readFileSync(join(pool, 'fences', `${D1}.json`), 'utf8')) as unknown;
  assert.equal(token, { epoch: 1, fenced: A, holder: B });
  await check(B, forced)(attach);
  await check(B, forced)(mount);
});

test('the fenced node, never told of the fence, can neither attach nor mount; it may still let go', async () => {
  const e1 = await failure(check(A, before)(attach));
  assert.match(e1.message, /^fenced: a forced move \(epoch 1\) gave dataset d1d1d1d1-.* to node 5e6f7a8b/);
  const e2 = await failure(check(A, before)(mount));
  assert.match(e2.message, /fenced/);
  await check(A, before)(detach);
});

test('given back on purpose (its configuration knows the fence), the fenced node may attach again', async () => {
  await check(A, givenBack)(attach);
  await check(A, givenBack)(mount);
});

test.run();
