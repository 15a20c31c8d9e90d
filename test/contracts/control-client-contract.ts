// What every ControlClient must do on the same calls (as Flocker's make_clientv1_tests ran one
// suite against its fake and its real client): the real client against a real control service,
// and the fakes the unit tests use, so a fake can't drift into behaviour the real one lacks.
import { suite as makeSuite } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiRequestError, type ControlClient } from '../../src/client/types.js';
import type { ClusterEvent } from '../../src/protocol/events.js';

export interface ContractEnv {
  readonly client: ControlClient;
  /** Two node uuids the control service accepts as primaries. */
  readonly nodes: readonly [string, string];
  /** A dataset on nodes[0] to move and delete (made through the client when it can create). */
  seed(): Promise<string>;
  cleanup(): Promise<void>;
}

/** Which parts of the contract a client takes part in: the dashboard's fake only moves, deletes and streams. */
export type ContractPart = 'datasets' | 'leases' | 'move-delete' | 'events';

async function apiError(p: Promise<unknown>): Promise<ApiRequestError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiRequestError) return e;
    throw e;
  }
  throw new Error('expected an ApiRequestError');
}

export function controlClientContract(name: string, make: () => Promise<ContractEnv>, parts: readonly ContractPart[]): void {
  const test = makeSuite<{ env?: ContractEnv }>(`control client contract: ${name}`, {});
  test.before(async (ctx) => {
    ctx.env = await make();
  });
  test.after(async (ctx) => {
    await ctx.env?.cleanup();
  });
  const when = (part: ContractPart, title: string, fn: (env: ContractEnv) => Promise<void>): void => {
    if (parts.includes(part)) test(title, (ctx) => fn(ctx.env!));
  };

  when('datasets', 'create under the current tag; a stale tag is 412 and changes nothing; a size under 64 MiB is 400', async ({ client, nodes }) => {
    const before = await client.listDatasets();
    const d = await client.createDataset({ primary: nodes[0], metadata: { name: 'contract' }, maximum_size: 67108864 }, { ifConfigurationMatches: before.tag });
    assert.equal([d.primary, d.deleted, d.metadata, d.maximum_size], [nodes[0], false, { name: 'contract' }, 67108864]);
    const after = await client.listDatasets();
    assert.is.not(after.tag, before.tag);
    assert.ok(after.datasets.some((x) => x.dataset_id === d.dataset_id));
    const stale = await apiError(client.createDataset({ primary: nodes[0] }, { ifConfigurationMatches: before.tag }));
    assert.is(stale.status, 412);
    assert.match(stale.description, /^Tag doesn't match\. Required: /);
    assert.is((await client.listDatasets()).datasets.length, after.datasets.length);
    assert.is((await apiError(client.createDataset({ primary: nodes[0], maximum_size: 1024 }))).status, 400);
  });

  when('datasets', 'an unknown dataset is 404; a deleted one cannot move (405)', async ({ client, nodes, seed }) => {
    assert.is((await apiError(client.moveDataset('00000000-0000-4000-8000-000000000000', nodes[1]))).status, 404);
    const id = await seed();
    await client.deleteDataset(id);
    assert.is((await apiError(client.moveDataset(id, nodes[1]))).status, 405);
  });

  when('move-delete', 'move answers the dataset with its new primary; delete answers it marked deleted, still on that primary', async ({ client, nodes, seed }) => {
    const id = await seed();
    const moved = await client.moveDataset(id, nodes[1]);
    assert.equal([moved.dataset_id, moved.primary, moved.deleted], [id, nodes[1], false]);
    const deleted = await client.deleteDataset(id);
    assert.equal([deleted.dataset_id, deleted.primary, deleted.deleted], [id, nodes[1], true]);
  });

  when('leases', 'a lease: held by another node is 409, released once, then 404', async ({ client, nodes, seed }) => {
    const id = await seed();
    const lease = await client.acquireLease(id, nodes[0], null);
    assert.equal(lease, { dataset_id: id, node_uuid: nodes[0], expires: null });
    assert.is((await apiError(client.acquireLease(id, nodes[1], null))).status, 409);
    assert.ok((await client.listLeases()).some((l) => l.dataset_id === id));
    assert.is((await client.releaseLease(id)).dataset_id, id);
    assert.is((await apiError(client.releaseLease(id))).status, 404);
  });

  when('events', 'the event stream starts with a snapshot and then carries a change', async ({ client, seed }) => {
    const abort = new AbortController();
    const seen: ClusterEvent[] = [];
    let id: string | undefined;
    try {
      for await (const e of client.events(abort.signal)) {
        seen.push(e);
        if (seen.length === 1) id = await seed();
        else if (e.type === 'configuration' && e.data.set.some((d) => d.dataset_id === id)) break;
      }
    } finally {
      abort.abort();
    }
    assert.is(seen[0]!.type, 'snapshot');
    assert.is(seen.at(-1)!.type, 'configuration');
  });

  test.run();
}
