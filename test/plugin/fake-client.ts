// An in-memory ControlClient with the REST API's rules that the plugin relies on (tags, 412,
// leases 409, deleted datasets, state separate from configuration) and a live event stream.
// For unit tests of the plugin's logic only; end-to-end tests use the real control service.
import { randomUUID } from 'node:crypto';
import { ApiRequestError, type Conditional, type ControlClient } from '../../src/client/types.js';
import type {
  ApiConvergenceRow, ApiCreateDataset, ApiDatasetConfig, ApiDatasetState, ApiLease, ApiNodeLive,
} from '../../src/protocol/api-json.js';
import type { ClusterEvent, ClusterSnapshot } from '../../src/protocol/events.js';
import { sortedRows, wholeAsChanges } from '../support/row-changes.js';

export class FakeControl implements ControlClient {
  readonly address = 'fake-control:4523';
  datasets: ApiDatasetConfig[] = [];
  /** The configuration as the last configuration event left it, for the next one's removals. */
  private emitted: ApiDatasetConfig[] = [];
  state: ApiDatasetState[] = [];
  leases: ApiLease[] = [];
  convergenceRows: ApiConvergenceRow[] = [];
  nodes: ApiNodeLive[] = [];
  tagN = 0;
  calls: string[] = [];
  /** Called after a move is accepted: lets a test play the agents. */
  onMove?: (datasetId: string, primary: string) => void;
  /** Runs before a conditional write checks its tag: lets a test play a concurrent writer. */
  beforeConditional?: () => void;
  /** When set, every call fails with it (a control service that is down). */
  failWith?: Error;
  private subscribers = new Set<(e: ClusterEvent) => void>();

  get tag(): string {
    return `tag-${this.tagN}`;
  }

  private enter(what: string): void {
    this.calls.push(what);
    if (this.failWith) throw this.failWith;
  }

  private checkTag(cond?: Conditional): void {
    this.beforeConditional?.();
    if (cond?.ifConfigurationMatches !== undefined && cond.ifConfigurationMatches !== this.tag) {
      throw new ApiRequestError(412, `Tag doesn't match. Required: ${cond.ifConfigurationMatches}, current: ${this.tag}`);
    }
  }

  changed(): void {
    this.tagN++;
    this.emit({ type: 'configuration', data: { ...wholeAsChanges(this.emitted, this.datasets), tag: this.tag } });
    this.emitted = structuredClone(this.datasets);
    this.emit({ type: 'leases', data: { at: Date.now(), leases: structuredClone(this.leases) } });
  }

  setState(rows: ApiDatasetState[]): void {
    const before = this.state;
    this.state = rows;
    this.emit({ type: 'state', data: wholeAsChanges(before, rows) });
  }

  emit(e: ClusterEvent): void {
    for (const s of this.subscribers) s(e);
  }

  addDataset(d: Partial<ApiDatasetConfig> & { primary: string }): ApiDatasetConfig {
    const ds: ApiDatasetConfig = { dataset_id: randomUUID(), deleted: false, metadata: {}, ...d };
    this.datasets.push(ds);
    this.tagN++;
    return ds;
  }

  async version(): Promise<{ flocker: string }> {
    this.enter('version');
    return { flocker: '1.15.0' };
  }

  async listDatasets(): Promise<{ datasets: ApiDatasetConfig[]; tag: string }> {
    this.enter('listDatasets');
    return { datasets: structuredClone(this.datasets), tag: this.tag };
  }

  async createDataset(body: ApiCreateDataset, cond?: Conditional): Promise<ApiDatasetConfig> {
    this.enter('createDataset');
    this.checkTag(cond);
    const size = body.maximum_size;
    if (size !== undefined && size !== null && (size < 67108864 || size % 1024 !== 0)) {
      throw new ApiRequestError(400, "The provided JSON doesn't match the required schema.", ['maximum_size invalid']);
    }
    const ds: ApiDatasetConfig = {
      dataset_id: body.dataset_id ?? randomUUID(), primary: body.primary, deleted: false,
      metadata: { ...(body.metadata ?? {}) }, ...(size ? { maximum_size: size } : {}),
    };
    this.datasets.push(ds);
    this.changed();
    return structuredClone(ds);
  }

  async moveDataset(datasetId: string, primary: string, cond?: Conditional): Promise<ApiDatasetConfig> {
    this.enter('moveDataset');
    this.checkTag(cond);
    const ds = this.find(datasetId);
    if (ds.deleted) throw new ApiRequestError(405, 'The dataset has been deleted.');
    if (ds.primary !== primary) {
      ds.primary = primary;
      this.changed();
      this.onMove?.(datasetId, primary);
    }
    return structuredClone(ds);
  }

  async deleteDataset(datasetId: string, cond?: Conditional): Promise<ApiDatasetConfig> {
    this.enter('deleteDataset');
    this.checkTag(cond);
    const ds = this.find(datasetId);
    if (!ds.deleted) {
      ds.deleted = true;
      this.changed();
    }
    return structuredClone(ds);
  }

  private find(id: string): ApiDatasetConfig {
    const ds = this.datasets.find((d) => d.dataset_id === id);
    if (!ds) throw new ApiRequestError(404, 'Dataset not found.');
    return ds;
  }

  async stateDatasets(): Promise<ApiDatasetState[]> {
    this.enter('stateDatasets');
    return structuredClone(this.state);
  }

  async stateManifests(): Promise<never[]> {
    return [];
  }

  async stateNodes(): Promise<{ uuid: string; host: string }[]> {
    this.enter('stateNodes');
    return this.nodes.map((n) => ({ uuid: n.uuid, host: n.host }));
  }

  async nodeByEra(): Promise<{ uuid: string } | undefined> {
    this.enter('nodeByEra');
    return undefined;
  }

  async listLeases(): Promise<ApiLease[]> {
    this.enter('listLeases');
    return structuredClone(this.leases);
  }

  async acquireLease(datasetId: string, nodeUuid: string, expires: number | null): Promise<ApiLease> {
    this.enter('acquireLease');
    const l = this.leases.find((x) => x.dataset_id === datasetId);
    if (l && l.node_uuid !== nodeUuid) throw new ApiRequestError(409, 'Lease already held.');
    const lease = { dataset_id: datasetId, node_uuid: nodeUuid, expires };
    this.leases = [...this.leases.filter((x) => x.dataset_id !== datasetId), lease];
    if (!l || l.expires !== expires) this.changed();
    return lease;
  }

  async releaseLease(datasetId: string): Promise<ApiLease> {
    this.enter('releaseLease');
    const l = this.leases.find((x) => x.dataset_id === datasetId);
    if (!l) throw new ApiRequestError(404, 'Lease not found.');
    this.leases = this.leases.filter((x) => x.dataset_id !== datasetId);
    this.changed();
    return l;
  }

  async convergence(): Promise<ApiConvergenceRow[]> {
    this.enter('convergence');
    return structuredClone(this.convergenceRows);
  }

  snapshot(): ClusterSnapshot {
    return structuredClone({
      at: Date.now(), configuration: sortedRows(this.datasets), tag: this.tag, state: sortedRows(this.state), nodes: this.nodes,
      leases: this.leases, convergence: sortedRows(this.convergenceRows),
    });
  }

  async *events(signal?: AbortSignal): AsyncIterable<ClusterEvent> {
    this.enter('events');
    const queue: ClusterEvent[] = [{ type: 'snapshot', data: this.snapshot() }];
    let wake: (() => void) | undefined;
    const sub = (e: ClusterEvent): void => {
      queue.push(e);
      wake?.();
    };
    const onAbort = (): void => wake?.();
    this.subscribers.add(sub);
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        const e = queue.shift();
        if (e) {
          yield e;
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.subscribers.delete(sub);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {}
}
