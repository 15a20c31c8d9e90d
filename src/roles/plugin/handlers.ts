// The VolumeDriver protocol in terms of the REST API. The plugin is just another API user: it
// never touches the model, so it can serve a node of any cluster it can reach.
import { ApiRequestError, type ControlClient } from '../../client/types.js';
import { UserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ApiCreateDataset, ApiDatasetConfig } from '../../protocol/api-json.js';
import type { MountCounts } from './mount-counts.js';
import { DEFAULT_MAXIMUM_SIZE, volumeSizeOption } from './size.js';
import { mountedHere, waitMounted } from './wait-mounted.js';
import { KeyedQueue } from '../../keyed-queue.js';

export const NOT_FOUND = 'Could not find volume with given name.';
export const NOT_AVAILABLE = 'Volume not available.';
export const PROFILE_KEY = 'clusterhq:flocker:profile';

/** Conditional writes race with every other writer (and lease sweeps); retry as the original. */
const TAG_ATTEMPTS = 20;

export interface DriverDeps {
  readonly client: ControlClient;
  readonly nodeId: string;
  readonly counts: MountCounts;
  /** Give up a Mount after this long, well inside Docker's 120 s. */
  readonly mountTimeoutMs: number;
  readonly log: Logger;
}

/** What Docker sends; every field may be missing or of the wrong type. */
export interface DockerRequest {
  readonly Name?: unknown;
  readonly Opts?: unknown;
  readonly ID?: unknown;
}

export type DockerReply = { Err: string } & Record<string, unknown>;

interface VolumeInfo {
  Name: string;
  Mountpoint: string;
}

export class VolumeDriver {
  /** Per-volume queue: a Mount's lease+count and an Unmount's count+release must not interleave. */
  private readonly perVolume = new KeyedQueue();

  constructor(private readonly d: DriverDeps) {}

  activate(): Record<string, unknown> {
    return { Implements: ['VolumeDriver'] };
  }

  capabilities(): DockerReply {
    return { Err: '', Capabilities: { Scope: 'global' } };
  }

  async create(req: DockerRequest): Promise<DockerReply> {
    const name = volumeName(req);
    const opts = options(req.Opts);
    const metadata: Record<string, string> = { name };
    let maximumSize = DEFAULT_MAXIMUM_SIZE;
    if (opts['size']) {
      const r = volumeSizeOption(opts['size']);
      if (!r.ok) throw new UserError(r.error);
      maximumSize = r.bytes;
      metadata['maximum_size'] = String(r.bytes);
    }
    if (opts['profile']) metadata[PROFILE_KEY] = opts['profile'];
    const body: ApiCreateDataset = { primary: this.d.nodeId, maximum_size: maximumSize, metadata };

    return this.underTag('create', name, async (datasets, tag) => {
      if (findByName(datasets, name)) return { Err: '' }; // creating an existing name is a no-op
      const created = await this.d.client.createDataset(body, { ifConfigurationMatches: tag });
      this.d.log.info({ name, dataset_id: created.dataset_id, maximum_size: maximumSize }, 'volume created');
      return { Err: '' };
    });
  }

  async remove(req: DockerRequest): Promise<DockerReply> {
    const name = volumeName(req);
    if (this.d.counts.count(name) > 0) {
      throw new UserError(`volume "${name}" is still mounted by ${this.d.counts.count(name)} container(s) on this node; cannot remove it`);
    }
    return this.underTag('remove', name, async (datasets, tag) => {
      const ds = findByName(datasets, name);
      if (!ds) return { Err: '' }; // already gone: removing is idempotent
      const lease = (await this.d.client.listLeases()).find((l) => l.dataset_id === ds.dataset_id);
      if (lease) {
        const where = lease.node_uuid === this.d.nodeId ? 'this node' : `node ${lease.node_uuid}`;
        throw new UserError(`volume "${name}" is in use on ${where} (it holds a lease on dataset ${ds.dataset_id}); cannot remove it`);
      }
      // The tag also covers leases, so a lease taken since our look is caught as a 412.
      await this.d.client.deleteDataset(ds.dataset_id, { ifConfigurationMatches: tag });
      this.d.log.info({ name, dataset_id: ds.dataset_id }, 'volume removed');
      return { Err: '' };
    });
  }

  async mount(req: DockerRequest): Promise<DockerReply> {
    const name = volumeName(req);
    const id = typeof req.ID === 'string' && req.ID !== '' ? req.ID : undefined;
    const deadline = Date.now() + this.d.mountTimeoutMs;
    const me = this.d.nodeId;

    const ds = await this.perVolume.run(name, async () => {
      // One round trip for both: a Mount sits on the path of every `docker run`.
      const [ds, leases] = await Promise.all([this.lookup(name), this.d.client.listLeases()]);
      const lease = leases.find((l) => l.dataset_id === ds.dataset_id);
      if (lease && lease.node_uuid !== me) throw inUseElsewhere(name, lease.node_uuid);
      if (!lease || lease.expires !== null) {
        try {
          await this.d.client.acquireLease(ds.dataset_id, me, null);
        } catch (e) {
          if (e instanceof ApiRequestError && e.status === 409) {
            const holder = (await this.d.client.listLeases()).find((l) => l.dataset_id === ds.dataset_id);
            throw inUseElsewhere(name, holder?.node_uuid ?? 'another node');
          }
          throw e;
        }
      }
      this.d.counts.add(name, ds.dataset_id, id);
      return ds;
    });

    try {
      if (ds.primary !== me) {
        this.d.log.info({ name, dataset_id: ds.dataset_id, from: ds.primary }, 'moving volume to this node');
        await this.d.client.moveDataset(ds.dataset_id, me);
      }
      const path = await waitMounted({ client: this.d.client, datasetId: ds.dataset_id, nodeId: me, name, deadline });
      return { Err: '', Mountpoint: path };
    } catch (e) {
      // Docker does not Unmount after a failed Mount: undo our share of the lease now.
      await this.unmountQuietly(name, id);
      throw e;
    }
  }

  async unmount(req: DockerRequest): Promise<DockerReply> {
    const name = volumeName(req);
    const id = typeof req.ID === 'string' && req.ID !== '' ? req.ID : undefined;
    await this.perVolume.run(name, async () => {
      const r = this.d.counts.remove(name, id);
      if (r && r.left === 0) await this.release(r.datasetId);
    });
    return { Err: '' };
  }

  async path(req: DockerRequest): Promise<DockerReply> {
    const name = volumeName(req);
    const ds = await this.lookup(name);
    const path = mountedHere(await this.d.client.stateDatasets(), ds.dataset_id, this.d.nodeId);
    if (path === undefined) return { Err: NOT_AVAILABLE, Mountpoint: '' };
    return { Err: '', Mountpoint: path };
  }

  async get(req: DockerRequest): Promise<DockerReply> {
    const name = volumeName(req);
    const [ds, state] = await Promise.all([this.lookup(name), this.d.client.stateDatasets()]);
    const volume: VolumeInfo = { Name: name, Mountpoint: mountedHere(state, ds.dataset_id, this.d.nodeId) ?? '' };
    return { Err: '', Volume: volume };
  }

  async list(): Promise<DockerReply> {
    const [{ datasets }, state] = await Promise.all([this.d.client.listDatasets(), this.d.client.stateDatasets()]);
    const seen = new Set<string>();
    const volumes: VolumeInfo[] = [];
    for (const ds of datasets) {
      const n = ds.metadata['name'];
      if (ds.deleted || n === undefined || n === '' || seen.has(n)) continue;
      seen.add(n);
      volumes.push({ Name: n, Mountpoint: mountedHere(state, ds.dataset_id, this.d.nodeId) ?? '' });
    }
    volumes.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    return { Err: '', Volumes: volumes };
  }

  /**
   * Run `write` against a fresh listing and its configuration tag; when the conditional write
   * loses a race (412), look again and retry.
   */
  private async underTag(
    verb: string,
    name: string,
    write: (datasets: ApiDatasetConfig[], tag: string) => Promise<DockerReply>,
  ): Promise<DockerReply> {
    for (let attempt = 0; attempt < TAG_ATTEMPTS; attempt++) {
      const { datasets, tag } = await this.d.client.listDatasets();
      try {
        return await write(datasets, tag);
      } catch (e) {
        if (!(e instanceof ApiRequestError && e.status === 412)) throw e;
        await pause(attempt);
      }
    }
    throw new UserError(`could not ${verb} volume "${name}": the cluster configuration kept changing; try again`);
  }

  private async lookup(name: string): Promise<ApiDatasetConfig> {
    const { datasets } = await this.d.client.listDatasets();
    const ds = findByName(datasets, name);
    if (!ds) throw new UserError(NOT_FOUND);
    return ds;
  }

  private async release(datasetId: string): Promise<void> {
    try {
      await this.d.client.releaseLease(datasetId);
    } catch (e) {
      if (!(e instanceof ApiRequestError && e.status === 404)) throw e; // already released: fine
    }
  }

  private async unmountQuietly(name: string, id: string | undefined): Promise<void> {
    try {
      await this.unmount({ Name: name, ...(id !== undefined ? { ID: id } : {}) });
    } catch (e) {
      this.d.log.warn({ name, err: String(e) }, 'could not release the lease after a failed mount');
    }
  }
}

function volumeName(req: DockerRequest): string {
  if (typeof req.Name !== 'string' || req.Name === '') throw new UserError('the request names no volume ("Name" is missing)');
  return req.Name;
}

/** Docker's Opts is a map of strings; anything else is read as best we can, never trusted. */
function options(opts: unknown): Record<string, string> {
  // Null prototype: an option named `__proto__` or `constructor` is only ever a key.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return out;
  for (const [k, v] of Object.entries(opts as Record<string, unknown>)) {
    if (typeof v === 'string') out[k.toLowerCase()] = v.trim();
    else if (typeof v === 'number' && Number.isFinite(v)) out[k.toLowerCase()] = String(v);
  }
  return out;
}

function findByName(datasets: readonly ApiDatasetConfig[], name: string): ApiDatasetConfig | undefined {
  return datasets.find((d) => !d.deleted && d.metadata['name'] === name);
}

function inUseElsewhere(name: string, node: string): UserError {
  return new UserError(
    `volume "${name}" is in use on node ${node} (that node holds a lease on it); stop the containers using it there first`,
  );
}

function pause(attempt: number): Promise<void> {
  const ms = Math.min(50, 1 + attempt * 2) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}
