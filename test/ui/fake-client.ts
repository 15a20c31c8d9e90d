// A ControlClient for UI unit tests: the event stream is fed by the test; actions are recorded.
import type { ControlClient } from '../../src/client/types.js';
import type { ApiDatasetConfig } from '../../src/protocol/api-json.js';
import type { ClusterEvent, ClusterSnapshot } from '../../src/protocol/events.js';

export const N1 = '11111111-aaaa-4aaa-8aaa-000000000001';
export const N2 = '22222222-bbbb-4bbb-8bbb-000000000002';
export const N3 = '33333333-cccc-4ccc-8ccc-000000000003';
export const D1 = 'd1d1d1d1-0000-4000-8000-000000000001';
export const D2 = 'd2d2d2d2-0000-4000-8000-000000000002';
export const D3 = 'd3d3d3d3-0000-4000-8000-000000000003';

const T0 = '2026-01-01T00:00:00.000Z';

/** Three nodes; web-db converged on N1, cache moving N1 -> N2, logs in error on N3. */
export function sampleSnapshot(): ClusterSnapshot {
  return {
    at: Date.parse(T0),
    tag: 't1',
    configuration: [
      { dataset_id: D1, primary: N1, deleted: false, metadata: { name: 'web-db' }, maximum_size: 10 * 2 ** 30 },
      { dataset_id: D2, primary: N2, deleted: false, metadata: { name: 'cache' }, maximum_size: 512 * 2 ** 20 },
      { dataset_id: D3, primary: N3, deleted: false, metadata: { name: 'logs' } },
    ],
    state: [
      { dataset_id: D1, primary: N1, path: `/flocker/${D1}`, maximum_size: 10 * 2 ** 30 },
      { dataset_id: D2, primary: N1, path: `/flocker/${D2}` },
    ],
    nodes: [
      { uuid: N1, host: '10.0.0.1', era: 'e1', connected: true, last_seen: T0 },
      { uuid: N2, host: '10.0.0.2', era: 'e2', connected: true, last_seen: T0 },
      { uuid: N3, host: '10.0.0.3', era: 'e3', connected: false, last_seen: T0 },
    ],
    leases: [{ dataset_id: D1, node_uuid: N1, expires: null }],
    convergence: [
      { dataset_id: D1, name: 'web-db', desired_node: N1, actual_node: N1, phase: 'converged', reason: 'mounted', since: T0 },
      { dataset_id: D2, name: 'cache', desired_node: N2, actual_node: N1, phase: 'moving-out', reason: 'node 11111111 is unmounting it', since: T0 },
      { dataset_id: D3, name: 'logs', desired_node: N3, phase: 'error', reason: 'create failed', since: T0, last_error: 'losetup failed: no free loop device' },
    ],
  };
}

export interface FakeClient extends ControlClient {
  push(e: ClusterEvent): void;
  /** End the current stream with an error (the dashboard must reconnect). */
  fail(message: string): void;
  readonly calls: string[];
  readonly subscriptions: number;
  /** Streams currently being followed. */
  readonly active: number;
}

export function fakeClient(): FakeClient {
  let queue: ClusterEvent[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const calls: string[] = [];
  // As the real client: a delete answers the dataset on the primary a move gave it.
  const primaries = new Map<string, string>();
  let subscriptions = 0;
  let active = 0;
  const config = (id: string, primary: string, deleted: boolean): ApiDatasetConfig => ({ dataset_id: id, primary, deleted, metadata: {} });
  const unused = (): never => { throw new Error('not used by the dashboard'); };
  const client: FakeClient = {
    address: 'fake-control:4523',
    calls,
    get subscriptions() { return subscriptions; },
    get active() { return active; },
    push(e) { queue.push(e); wake?.(); },
    fail(message) { failure = new Error(message); wake?.(); },
    async *events(signal?: AbortSignal): AsyncIterable<ClusterEvent> {
      subscriptions += 1;
      active += 1;
      const onAbort = (): void => wake?.();
      signal?.addEventListener('abort', onAbort);
      try {
        for (;;) {
          if (signal?.aborted) return;
          if (failure) { const f = failure; failure = undefined; throw f; }
          const e = queue.shift();
          if (e) { yield e; continue; }
          await new Promise<void>((r) => { wake = r; });
          wake = undefined;
        }
      } finally {
        active -= 1;
        signal?.removeEventListener('abort', onAbort);
      }
    },
    async moveDataset(id, primary) { calls.push(`move ${id} ${primary}`); primaries.set(id, primary); return config(id, primary, false); },
    async deleteDataset(id) { calls.push(`delete ${id}`); return config(id, primaries.get(id) ?? N1, true); },
    version: unused, listDatasets: unused, createDataset: unused, stateDatasets: unused, stateNodes: unused, stateManifests: unused,
    nodeByEra: unused, listLeases: unused, acquireLease: unused, releaseLease: unused, convergence: unused,
    close() { queue = []; },
  };
  return client;
}
