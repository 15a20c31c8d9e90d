// The configuration on etcd, shared by several control replicas. Keys under PREFIX (default
// /flocker/): `identity`, `cluster` (the cluster UUID from the CA), `generation` (JSON
// {generation, commit}), `datasets/<id>` and `leases/<id>` (one small key each, the model object
// as JSON), `nodes/<uuid>` (what an agent last said, on the etcd lease of the replica it talks to).
//
// Every replica keeps the whole prefix in memory, kept current by one watch. A commit is one
// transaction: "if `generation` is unchanged since what this replica has seen, write the changed
// keys and the new generation", so writes through different replicas serialise on one key and
// every invariant the writer checks holds against what is stored. The transaction also writes a
// commit token, so a retried transaction that had in fact been applied is recognised as ours.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Etcd3, type IKeyValue, type IRequestOp, type IWatchResponse, type Lease as EtcdLease, type Watcher } from 'etcd3';
import type { Dataset, Deployment, Lease } from '../model/configuration.js';
import type { NodeState } from '../model/cluster-state.js';
import type { NodeId } from '../model/ids.js';
import { UserError } from '../errors.js';
import { applyChange, isEmptyChange, StoreUnavailableError, type ConfigurationStore, type StoreChange, type StoreEvents } from './store.js';

export interface EtcdLocation {
  /** host:port of each member. */
  readonly endpoints: readonly string[];
  /** Key prefix, ending in '/'. */
  readonly prefix: string;
}

export interface EtcdTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface EtcdStoreOptions extends EtcdLocation {
  readonly tls?: EtcdTls;
  /**
   * The cluster UUID of the CA this control service serves. A prefix holding another cluster's
   * configuration is refused. Undefined (store copy, tests): take whatever is there.
   */
  readonly clusterUuid?: string;
  /** Per-call deadline; a call that takes longer counts as etcd unavailable (default 5 s). */
  readonly callTimeoutMs?: number;
  /** TTL of the etcd lease node states hang on (default 10 s). */
  readonly nodeTtlSeconds?: number;
}

export interface NodeEvents {
  /** A node's state as some replica wrote it (undefined: gone). */
  node: [uuid: NodeId, node: NodeState | undefined];
}

interface GenerationValue {
  readonly generation: number;
  readonly commit: string;
}

const text = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('utf8'));

function describeError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 300);
}

export class EtcdStore extends EventEmitter<StoreEvents> implements ConfigurationStore {
  readonly description: string;
  identity = '';
  private deploymentValue: Deployment = { datasets: {}, leases: {} };
  private generationValue = 0;
  /** mod_revision of the generation key as last seen: what a commit compares. */
  private generationRevision = '0';
  /** Highest revision whose events are all applied. */
  private applied = 0n;
  private waiters: { revision: bigint; resolve(): void }[] = [];
  private watcher?: Watcher;
  private nodesValue = new Map<string, NodeState>();
  readonly nodeEvents = new EventEmitter<NodeEvents>();
  private nodeLease?: EtcdLease;
  private closed = false;
  private readonly k: { identity: string; cluster: string; generation: string; datasets: string; leases: string; nodes: string };

  private constructor(private readonly client: Etcd3, private readonly o: EtcdStoreOptions) {
    super();
    this.setMaxListeners(0);
    const p = o.prefix;
    this.k = {
      identity: `${p}identity`, cluster: `${p}cluster`, generation: `${p}generation`,
      datasets: `${p}datasets/`, leases: `${p}leases/`, nodes: `${p}nodes/`,
    };
    this.description = `etcd://${o.endpoints.join(',')}${p === '/flocker/' ? '' : p.replace(/\/$/, '')}`;
  }

  static async open(o: EtcdStoreOptions): Promise<EtcdStore> {
    const timeout = o.callTimeoutMs ?? 5000;
    const scheme = o.tls ? 'https' : 'http';
    const client = new Etcd3({
      hosts: o.endpoints.map((e) => `${scheme}://${e}`),
      ...(o.tls ? {
        credentials: {
          rootCertificate: readFileSync(o.tls.ca),
          ...(o.tls.key ? { privateKey: readFileSync(o.tls.key) } : {}),
          ...(o.tls.cert ? { certChain: readFileSync(o.tls.cert) } : {}),
        },
      } : {}),
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    const store = new EtcdStore(client, o);
    try {
      await store.init();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  get deployment(): Deployment {
    return this.deploymentValue;
  }

  get generation(): number {
    return this.generationValue;
  }

  /** What the agents said, as every replica wrote it. */
  get nodes(): ReadonlyMap<string, NodeState> {
    return this.nodesValue;
  }

  private async init(): Promise<void> {
    // Create the identity once, whoever gets there first.
    await this.unavailableAs(async () => {
      const fresh = randomUUID();
      const gen: GenerationValue = { generation: 0, commit: 'created' };
      const created = await this.client.if(this.k.identity, 'Create', '==', 0).then(
        { request_put: { key: Buffer.from(this.k.identity), value: Buffer.from(fresh) } },
        { request_put: { key: Buffer.from(this.k.generation), value: Buffer.from(JSON.stringify(gen)) } },
      ).commit();
      if (created.succeeded && this.o.clusterUuid) await this.client.put(this.k.cluster).value(this.o.clusterUuid).exec();
    });
    await this.load();
    if (!this.identity) throw new UserError(`${this.description}: no store identity under ${this.o.prefix}; is another program using this prefix?`);
  }

  private async load(): Promise<void> {
    const all = await this.unavailableAs(() => this.client.getAll().prefix(this.o.prefix).exec());
    const datasets: Record<string, Dataset> = {};
    const leases: Record<string, Lease> = {};
    let cluster: string | undefined;
    for (const kv of all.kvs) {
      const key = text(kv.key);
      if (key === this.k.identity) this.identity = text(kv.value);
      else if (key === this.k.cluster) cluster = text(kv.value);
      else if (key === this.k.generation) this.setGeneration(kv);
      else if (key.startsWith(this.k.datasets)) datasets[key.slice(this.k.datasets.length)] = this.parse<Dataset>(kv);
      else if (key.startsWith(this.k.leases)) leases[key.slice(this.k.leases.length)] = this.parse<Lease>(kv);
      else if (key.startsWith(this.k.nodes)) this.nodesValue.set(key.slice(this.k.nodes.length), this.parse<NodeState>(kv));
    }
    if (this.o.clusterUuid && cluster !== undefined && cluster !== this.o.clusterUuid) {
      throw new UserError(
        `${this.description} holds the configuration of another cluster (cluster UUID ${cluster}, ours is ${this.o.clusterUuid} from the CA); `
        + 'refusing to start. Use another prefix (etcd://HOST:PORT/PREFIX) or another etcd.');
    }
    if (this.o.clusterUuid && cluster === undefined) await this.unavailableAs(() => this.client.put(this.k.cluster).value(this.o.clusterUuid ?? '').exec());
    this.deploymentValue = { datasets, leases };
    this.applied = BigInt(all.header.revision);
    this.watch(this.applied + 1n);
  }

  private parse<T>(kv: IKeyValue): T {
    try {
      return JSON.parse(text(kv.value)) as T;
    } catch {
      throw new UserError(`${this.description}: corrupt value under ${text(kv.key)}`);
    }
  }

  private setGeneration(kv: IKeyValue): void {
    const g = this.parse<GenerationValue>(kv);
    this.generationValue = g.generation;
    this.generationRevision = kv.mod_revision;
  }

  private watch(from: bigint): void {
    this.watcher = undefined;
    void this.client.watch().prefix(this.o.prefix).startRevision(from.toString()).create().then((w) => {
      if (this.closed) {
        void w.cancel();
        return;
      }
      this.watcher = w;
      w.on('data', (res: IWatchResponse) => this.onWatch(res));
      w.on('error', () => { /* the client re-establishes the watch from the last revision */ });
    }, () => {
      // etcd unreachable: try again; catchUp() and commits report the outage meanwhile.
      if (!this.closed) setTimeout(() => this.watch(from), 500).unref();
    });
  }

  private onWatch(res: IWatchResponse): void {
    const datasets = new Map<string, Dataset>();
    const leases = new Map<string, Lease | null>();
    let top = this.applied;
    for (const ev of res.events) {
      const kv = ev.kv;
      const rev = BigInt(kv.mod_revision);
      if (rev <= this.applied) continue;
      if (rev > top) top = rev;
      const key = text(kv.key);
      const deleted = ev.type === 'Delete';
      if (key === this.k.generation && !deleted) this.setGeneration(kv);
      else if (key.startsWith(this.k.datasets) && !deleted) datasets.set(key.slice(this.k.datasets.length), this.parse<Dataset>(kv));
      else if (key.startsWith(this.k.leases)) leases.set(key.slice(this.k.leases.length), deleted ? null : this.parse<Lease>(kv));
      else if (key.startsWith(this.k.nodes)) {
        const uuid = key.slice(this.k.nodes.length);
        if (deleted) this.nodesValue.delete(uuid);
        else this.nodesValue.set(uuid, this.parse<NodeState>(kv));
        this.nodeEvents.emit('node', uuid as NodeId, deleted ? undefined : this.parse<NodeState>(kv));
      }
    }
    const header = BigInt(res.header.revision);
    // A response's header revision covers everything up to it for this watch.
    this.applied = header > top ? header : top;
    const change = { datasets, leases };
    if (!isEmptyChange(change)) {
      this.deploymentValue = applyChange(this.deploymentValue, change);
      this.emit('change', { datasets: datasets.size > 0, leases: leases.size > 0 });
    }
    const ready = this.waiters.filter((w) => w.revision <= this.applied);
    this.waiters = this.waiters.filter((w) => w.revision > this.applied);
    for (const w of ready) w.resolve();
  }

  private until(revision: bigint): Promise<void> {
    if (revision <= this.applied) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ revision, resolve }));
  }

  async commit(base: number, next: number, change: StoreChange): Promise<boolean> {
    if (base !== this.generationValue) return false;
    const token = randomUUID();
    const ops: IRequestOp[] = [];
    const put = (key: string, value: unknown): void => {
      ops.push({ request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) } });
    };
    for (const [id, d] of change.datasets) put(this.k.datasets + id, d);
    for (const [id, l] of change.leases) {
      if (l === null) ops.push({ request_delete_range: { key: Buffer.from(this.k.leases + id) } });
      else put(this.k.leases + id, l);
    }
    put(this.k.generation, { generation: next, commit: token } satisfies GenerationValue);
    const res = await this.unavailableAs(() => this.client
      .if(this.k.generation, 'Mod', '==', this.generationRevision)
      .then(...ops)
      .else({ request_range: { key: Buffer.from(this.k.generation) } })
      .commit());
    let ours = res.succeeded;
    let revision = BigInt(res.header.revision);
    if (!ours) {
      // A retry of a transaction that was applied the first time fails its compare: recognise it.
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (kv && (JSON.parse(text(kv.value)) as GenerationValue).commit === token) {
        ours = true;
        revision = BigInt(kv.mod_revision);
      }
    }
    if (!ours) return false;
    await this.until(revision);
    return true;
  }

  /**
   * One linearizable read of the generation key (one quorum round trip), then wait until the
   * watch has delivered up to it: afterwards `deployment` holds every change committed before.
   */
  async catchUp(): Promise<void> {
    const res = await this.unavailableAs(() => this.client.get(this.k.generation).exec());
    const kv = res.kvs[0];
    if (kv) await this.until(BigInt(kv.mod_revision));
  }

  // ---- node states, shared between replicas ----

  private async lease(): Promise<EtcdLease> {
    if (this.nodeLease && !this.nodeLease.revoked()) return this.nodeLease;
    const lease = this.client.lease(this.o.nodeTtlSeconds ?? 10, { autoKeepAlive: true });
    // A lost lease (etcd unreachable past the TTL) took our nodes with it: the next write makes a new one.
    lease.on('lost', () => { if (this.nodeLease === lease) this.nodeLease = undefined; });
    this.nodeLease = lease;
    await lease.grant();
    return lease;
  }

  /** Record a node's state on this replica's etcd lease: it lives as long as this replica does. */
  async putNode(node: NodeState): Promise<void> {
    const lease = await this.unavailableAs(() => this.lease());
    await this.unavailableAs(() => lease.put(this.k.nodes + node.uuid).value(JSON.stringify(node)).exec());
  }

  async deleteNode(uuid: NodeId): Promise<void> {
    await this.unavailableAs(() => this.client.delete().key(this.k.nodes + uuid).exec());
  }

  private async unavailableAs<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new StoreUnavailableError(`etcd at ${this.o.endpoints.join(', ')} is unavailable: ${describeError(e)}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    const lease = this.nodeLease;
    this.nodeLease = undefined;
    try {
      if (this.watcher) await this.watcher.cancel();
    } catch { /* closing anyway */ }
    try {
      // Revoking drops this replica's node keys at once, so other replicas don't wait for the TTL.
      if (lease && !lease.revoked()) await lease.revoke();
    } catch { /* the TTL will */ }
    this.client.close();
  }
}
