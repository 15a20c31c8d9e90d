// Pushes to many agents while many more are joining: agents that are up to date get every change
// at once, and the snapshots for the others are spread over the pushes that follow, a bounded
// number of bytes each, until every agent holds the latest view.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import type { WebSocket as Ws } from 'ws';
import { createEdit } from '../../src/roles/control/edits.js';
import { FanOut, type Recipient } from '../../src/roles/control/fan-out.js';
import { ControlHub } from '../../src/roles/control/hub.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { until } from '../support/until.js';

const node = (n: number): NodeId => `aaaaaaaa-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as NodeId;
const ds = (n: number): DatasetId => `dddddddd-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as DatasetId;

/** Snapshots sent per push: a push sends to every agent in one synchronous loop. */
const snapshotsPerPush: number[] = [];
let inPush = false;

/** An agent's socket that takes every message at once and remembers what kind it was. */
function agent(): Recipient & { got: ('cluster' | 'delta')[] } {
  const got: ('cluster' | 'delta')[] = [];
  const ws = {
    readyState: WebSocket.OPEN,
    bufferedAmount: 0,
    send(data: Buffer, _o: unknown, cb?: () => void) {
      if (!inPush) {
        inPush = true;
        snapshotsPerPush.push(0);
        queueMicrotask(() => { inPush = false; });
      }
      const kind = /^\{"type":"cluster"/.test(data.toString('utf8', 0, 20)) ? 'cluster' : 'delta';
      if (kind === 'cluster') snapshotsPerPush[snapshotsPerPush.length - 1]! += 1;
      got.push(kind);
      setImmediate(() => cb?.());
    },
  } as unknown as Ws;
  return { ws, greeted: true, got };
}

test('a storm of joins: the up-to-date agents get each change at once; snapshots go out a budget at a time until all have one', async () => {
  const hub = new ControlHub();
  const agents = [agent(), agent()];
  // Room for about three snapshots of this cluster per push.
  const fan = new FanOut(hub, () => agents, undefined, 3 * 1024);
  try {
    await hub.write(createEdit({ datasetId: ds(0), primary: node(0), maximumSize: null, metadata: { padding: 'x'.repeat(700) } }));
    await until('the first two agents to have their snapshot', () => agents.every((a) => a.got.length === 1));
    const joined = Array.from({ length: 12 }, () => agent());
    agents.push(...joined);
    await hub.write(createEdit({ datasetId: ds(1), primary: node(0), maximumSize: null, metadata: {} }));
    await until('the two up-to-date agents to get the change', () => agents[0]!.got.length === 2 && agents[1]!.got.length === 2);
    assert.equal(agents[0]!.got, ['cluster', 'delta'], 'a delta, at once');
    await until('every joined agent to get its snapshot', () => joined.every((a) => a.got.length > 0), 10_000);
    assert.ok(joined.every((a) => a.got[0] === 'cluster'));
    const storm = snapshotsPerPush.slice(1);
    assert.ok(storm.length >= 4 && storm.every((n) => n >= 1 && n <= 3), `snapshots per push: ${storm.join(', ')}`);
    assert.is(storm.reduce((a, b) => a + b, 0), 12);
    // And they are all up to date: the next change is a delta to each.
    await hub.write(createEdit({ datasetId: ds(2), primary: node(0), maximumSize: null, metadata: {} }));
    await until('everyone to get the next change', () => agents.every((a) => a.got.at(-1) === 'delta'), 10_000);
  } finally {
    fan.close();
  }
});

test.run();
