// The configuration on etcd, shared by several control replicas. Keys under PREFIX (default
// /flocker/): `identity`, `cluster` (the cluster UUID from the CA), `generation` (JSON
// {generation, commit}), `datasets/<id>` and `leases/<id>` (one small key each, the model object
// as JSON), `nodes/<uuid>` (what an agent last said, on the etcd lease of the replica it talks to).
//
// Every replica keeps the whole prefix in memory, kept current by one watch. A commit is one
// transaction: "if `generation` is unchanged since what this replica has seen, write the changed
// keys and the new generation", so writes through different replicas serialise on one key and
// every invariant the writer checks holds against what is stored. The transaction also writes a
// commit token (a write id), and the watch remembers the tokens it sees: when the etcd client
// sent a transaction again because an answer was lost, the watch says whether an earlier sending
// landed, even when other replicas have committed since.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Etcd3, type IKeyValue, type IRequestOp, type ITxnResponse, type IWatchResponse, type Watcher } from 'etcd3';
import { EMPTY_DEPLOYMENT, type Dataset, type Deployment, type Lease } from '../model/configuration.js';
import type { NodeState } from '../model/cluster-state.js';
import { idMap } from '../model/id-map.js';
import type { NodeId } from '../model/ids.js';
import { UserError } from '../errors.js';
import { applyChange, changedIds, isEmptyChange, replacedIds, StoreUnavailableError, type ConfigurationStore, type StoreChange, type StoreEvents, type StoreSnapshot } from './store.js';
import { RecentCommits } from './recent-commits.js';
import { ReplicaLease } from './replica-lease.js';

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
  /** A node's state as some replica wrote it (undefined: gone); `ours`: written on this replica's etcd lease. */
  node: [uuid: NodeId, node: NodeState | undefined, ours: boolean];
}

interface GenerationValue {
  readonly generation: number;
  readonly commit: string;
}

/** Operations per transaction when copying: etcd's default limit is 128. */
const TXN_OPS = 100;

/** The range_end that makes a range request cover every key starting with `prefix`. */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  b[b.length - 1] = (b[b.length - 1] ?? 0) + 1;
  return b;
}

const text = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('utf8'));

function describeError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 300);
}

export class EtcdStore extends EventEmitter<StoreEvents> implements ConfigurationStore {
  readonly description: string;
  identity = '';
  private deploymentValue: Deployment = EMPTY_DEPLOYMENT;
  private generationValue = 0;
  /** mod_revision of the generation key as last seen: what a commit compares. */
  private generationRevision = '0';
  private readonly commits = new RecentCommits();
  /** Highest revision whose events are all applied. */
  private applied = 0n;
  private waiters: { revision: bigint; resolve(): void }[] = [];
  private watcher?: Watcher;
  private nodesValue = new Map<string, NodeState>();
  readonly nodeEvents = new EventEmitter<NodeEvents>();
  private readonly nodeLease: ReplicaLease;
  private closed = false;
  private readonly k: { identity: string; cluster: string; generation: string; datasets: string; leases: string; nodes: string };

  private constructor(private readonly client: Etcd3, private readonly o: EtcdStoreOptions) {
    super();
    this.setMaxListeners(0);
    this.nodeLease = new ReplicaLease(client, o.nodeTtlSeconds ?? 10);
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
    const datasets = new Map<string, Dataset>();
    const leases = new Map<string, Lease>();
    let cluster: string | undefined;
    for (const kv of all.kvs) {
      const key = text(kv.key);
      if (key === this.k.identity) this.identity = text(kv.value);
      else if (key === this.k.cluster) cluster = text(kv.value);
      else if (key === this.k.generation) this.setGeneration(kv);
      else if (key.startsWith(this.k.datasets)) datasets.set(key.slice(this.k.datasets.length), this.parse<Dataset>(kv));
      else if (key.startsWith(this.k.leases)) leases.set(key.slice(this.k.leases.length), this.parse<Lease>(kv));
      else if (key.startsWith(this.k.nodes)) this.nodesValue.set(key.slice(this.k.nodes.length), this.parse<NodeState>(kv));
    }
    if (this.o.clusterUuid && cluster !== undefined && cluster !== this.o.clusterUuid) {
      throw new UserError(
        `${this.description} holds the configuration of another cluster (cluster UUID ${cluster}, ours is ${this.o.clusterUuid} from the CA); `
        + 'refusing to start. Use another prefix (etcd://HOST:PORT/PREFIX) or another etcd.');
    }
    if (this.o.clusterUuid && cluster === undefined) await this.unavailableAs(() => this.client.put(this.k.cluster).value(this.o.clusterUuid ?? '').exec());
    this.deploymentValue = { datasets: idMap(datasets), leases: idMap(leases) };
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
    this.commits.seen(g.commit, BigInt(kv.mod_revision));
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
        this.nodeEvents.emit('node', uuid as NodeId, deleted ? undefined : this.parse<NodeState>(kv), !deleted && kv.lease === this.nodeLease.current);
      }
    }
    const header = BigInt(res.header.revision);
    // A response's header revision covers everything up to it for this watch.
    this.applied = header > top ? header : top;
    const change = { datasets, leases };
    if (!isEmptyChange(change)) {
      this.deploymentValue = applyChange(this.deploymentValue, change);
      this.emit('change', changedIds(change));
    }
    const ready = this.waiters.filter((w) => w.revision <= this.applied);
    this.waiters = this.waiters.filter((w) => w.revision > this.applied);
    for (const w of ready) w.resolve();
  }

  /** Wait until the watch has applied `revision`; a watch that stays behind counts as etcd unavailable. */
  private until(revision: bigint): Promise<void> {
    if (revision <= this.applied) return Promise.resolve();
    const limitMs = 2 * (this.o.callTimeoutMs ?? 5000);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new StoreUnavailableError(`etcd at ${this.o.endpoints.join(', ')} is unavailable: its watch did not deliver revision ${revision} within ${limitMs / 1000} s`));
      }, limitMs);
      const waiter = { revision, resolve: () => { clearTimeout(timer); resolve(); } };
      this.waiters.push(waiter);
    });
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
    let res: ITxnResponse;
    try {
      // The etcd client sends it again when an answer is lost (deadline, dropped connection): it
      // cannot apply twice, since its compare names the generation it replaces.
      res = await this.unavailableAs(() => this.client.if(this.k.generation, 'Mod', '==', this.generationRevision).then(...ops).commit());
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
      throw new StoreUnavailableError(`${e.message}; whether the change was applied will be known when etcd answers again: look before repeating it`);
    }
    // A failed compare: another writer committed first, or an earlier sending of ours did, maybe
    // followed by others' commits. Once the watch has reached this answer it has seen every
    // commit before it: ours among them if and only if it landed.
    let revision: bigint | undefined = BigInt(res.header.revision);
    if (!res.succeeded) {
      await this.until(revision);
      revision = this.commits.revisionOf(token);
      if (revision === undefined) return false;
    }
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

  /** In transactions of at most TXN_OPS operations (etcd refuses more than 128 by default); the generation last. */
  async replaceAll(snap: StoreSnapshot): Promise<void> {
    const range = (p: string): IRequestOp => ({ request_delete_range: { key: Buffer.from(p), range_end: prefixEnd(p) } });
    await this.unavailableAs(() => this.client.if(this.k.identity, 'Create', '>', 0).then(range(this.k.datasets), range(this.k.leases)).commit());
    const puts: IRequestOp[] = [];
    const put = (key: string, value: string): void => { puts.push({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } }); };
    for (const [id, d] of snap.deployment.datasets) put(this.k.datasets + id, JSON.stringify(d));
    for (const [id, l] of snap.deployment.leases) put(this.k.leases + id, JSON.stringify(l));
    for (let i = 0; i < puts.length; i += TXN_OPS) {
      const chunk = puts.slice(i, i + TXN_OPS);
      await this.unavailableAs(() => this.client.if(this.k.identity, 'Create', '>', 0).then(...chunk).commit());
    }
    const last: IRequestOp[] = [];
    const fin = (key: string, value: string): void => { last.push({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } }); };
    fin(this.k.identity, snap.identity);
    fin(this.k.generation, JSON.stringify({ generation: snap.generation, commit: randomUUID() } satisfies GenerationValue));
    await this.unavailableAs(() => this.client.if(this.k.identity, 'Create', '>', 0).then(...last).commit());
    await this.catchUp();
    this.identity = snap.identity;
    const before = this.deploymentValue;
    this.deploymentValue = snap.deployment;
    this.emit('change', replacedIds(before, snap.deployment));
  }

  // ---- node states, shared between replicas ----

  /**
   * Record a node's state on this replica's etcd lease, so it lives as long as this replica does.
   * `takeOver`: the agent connected here, so write whoever owned the record; otherwise write only
   * if this replica still owns it (an agent that moved to another replica is that one's now).
   */
  async putNode(node: NodeState, takeOver: boolean): Promise<void> {
    const leaseId = await this.unavailableAs(() => this.nodeLease.id());
    const key = this.k.nodes + node.uuid;
    const put: IRequestOp = { request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(node)), lease: leaseId } };
    if (takeOver) {
      await this.unavailableAs(() => this.client.put(key).value(JSON.stringify(node)).lease(leaseId).exec());
    } else {
      await this.unavailableAs(() => this.client.if(key, 'Lease', '==', leaseId).then(put).commit());
    }
  }

  /** Forget a node this replica owns the record of. */
  async deleteNode(uuid: NodeId): Promise<void> {
    const leaseId = this.nodeLease.current;
    if (!leaseId) return;
    const key = this.k.nodes + uuid;
    await this.unavailableAs(() => this.client.if(key, 'Lease', '==', leaseId)
      .then({ request_delete_range: { key: Buffer.from(key) } }).commit());
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
    try {
      if (this.watcher) await this.watcher.cancel();
    } catch { /* closing anyway */ }
    try {
      await this.nodeLease.revoke();
    } catch { /* the TTL will */ }
    this.client.close();
  }
}
