// A commit whose etcd transaction was applied but whose answer came too late: the store must
// learn that it landed and say so (nothing lost), and not apply it twice. A real 3-member etcd
// behind a TCP proxy that holds etcd's answers back for a while: the transaction reaches etcd
// and is applied, its answer arrives after the call's deadline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { EtcdStore } from '../../src/store/etcd.js';
import type { Dataset } from '../../src/model/configuration.js';
import { randomPrefix, startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { until } from '../support/until.js';

/** Long enough for the test to act between a lost answer and the etcd client's retry on a loaded machine. */
const CALL_TIMEOUT_MS = 2000;

/**
 * Forwards to `upstream`. holdAnswers(ms): from now, everything etcd sends is held back (in
 * order) until `ms` after the client's next request, so that request's answer is late by `ms`
 * wherever the test process is slow.
 */
class AnswerHoldingProxy {
  private holdUntil = 0;
  private holdMs = 0;
  private armed = false;
  /** Per connection: send what it holds once the hold ends. */
  private readonly pending = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  readonly port: Promise<number>;
  private readonly server: Server;

  constructor(upstream: { host: string; port: number }) {
    this.server = createServer((client) => {
      const etcd = createConnection(upstream);
      this.sockets.add(client).add(etcd);
      const held: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      const schedule = (): void => {
        if (timer || held.length === 0 || this.armed) return;
        timer = setTimeout(() => {
          timer = undefined;
          for (const b of held.splice(0)) client.write(b);
        }, Math.max(0, this.holdUntil - Date.now()));
      };
      this.pending.add(schedule);
      client.on('data', () => {
        if (!this.armed) return;
        this.armed = false;
        this.holdUntil = Date.now() + this.holdMs;
        for (const p of this.pending) p();
      });
      client.pipe(etcd);
      etcd.on('data', (b: Buffer) => {
        if (held.length === 0 && Date.now() >= this.holdUntil) {
          client.write(b);
          return;
        }
        held.push(b);
        schedule();
      });
      const close = (): void => {
        clearTimeout(timer);
        this.pending.delete(schedule);
        client.destroy();
        etcd.destroy();
      };
      for (const s of [client, etcd]) s.on('error', close).on('close', close);
    });
    this.port = new Promise((r) => this.server.listen(0, '127.0.0.1', () => r((this.server.address() as { port: number }).port)));
  }

  holdAnswers(ms: number): void {
    this.holdMs = ms;
    this.holdUntil = Number.POSITIVE_INFINITY;
    this.armed = true;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

let etcd: TestEtcd;
let proxy: AnswerHoldingProxy;

test.before(async () => {
  etcd = await startTestEtcd();
  const [host, port] = etcd.endpoints[0]!.split(':');
  proxy = new AnswerHoldingProxy({ host: host!, port: Number(port) });
});

test.after(async () => {
  proxy?.close();
  await etcd?.stop();
});

const dataset = (id: string): Dataset => ({ datasetId: id as never, primary: 'aaaaaaaa-0000-4000-8000-000000000000' as never, maximumSize: null, metadata: {}, deleted: false });

test('a commit applied by etcd whose answer missed the deadline is reported committed, once', async () => {
  const prefix = randomPrefix();
  const store = await EtcdStore.open({ endpoints: [`127.0.0.1:${await proxy.port}`], prefix, callTimeoutMs: CALL_TIMEOUT_MS });
  const direct = await EtcdStore.open({ endpoints: etcd.endpoints, prefix });
  try {
    const id = 'abcdef01-2222-4222-8222-222222222222';
    const base = store.generation;
    // Longer than one call's deadline, shorter than two: the first answer is late, the second not.
    proxy.holdAnswers(CALL_TIMEOUT_MS * 1.5);
    const started = Date.now();
    const committed = await store.commit(base, base + 1, { datasets: new Map([[id, dataset(id)]]), leases: new Map() });
    assert.ok(Date.now() - started >= CALL_TIMEOUT_MS, 'the first answer did miss its deadline (else this test proves nothing)');
    assert.is(committed, true, 'the change landed, and the store says so');
    assert.is(store.generation, base + 1);
    assert.ok(store.deployment.datasets.get(id));
    // What etcd holds: the change once, at the next generation.
    await direct.catchUp();
    assert.is(direct.generation, base + 1, 'applied exactly once');
    assert.equal([...direct.deployment.datasets.keys()], [id]);
  } finally {
    await store.close();
    await direct.close();
  }
});

test('a commit applied by etcd, then followed by another writer\'s before its answer came, is reported committed', async () => {
  const prefix = randomPrefix();
  const store = await EtcdStore.open({ endpoints: [`127.0.0.1:${await proxy.port}`], prefix, callTimeoutMs: CALL_TIMEOUT_MS });
  const other = await EtcdStore.open({ endpoints: etcd.endpoints, prefix });
  try {
    const base = store.generation;
    const mine = 'abcdef01-4444-4444-8444-444444444444';
    const theirs = '11111111-4444-4444-8444-444444444444';
    proxy.holdAnswers(CALL_TIMEOUT_MS * 1.5);
    const committing = store.commit(base, base + 1, { datasets: new Map([[mine, dataset(mine)]]), leases: new Map() });
    // Ours is in etcd, its answer held: another writer commits on top before the retry. The retry
    // then fails its compare, and the generation key names the other writer's commit.
    await until('our commit in etcd', async () => {
      await other.catchUp();
      return other.generation === base + 1 && other.deployment.datasets.get(mine) !== undefined;
    }, CALL_TIMEOUT_MS / 2);
    assert.is(await other.commit(base + 1, base + 2, { datasets: new Map([[theirs, dataset(theirs)]]), leases: new Map() }), true);
    assert.is(await committing, true, 'the store knows its change landed (nothing lost), and does not apply it again');
    assert.equal([...store.deployment.datasets.keys()].sort(), [theirs, mine].sort());
    await other.catchUp();
    assert.is(other.generation, base + 2, 'applied once');
  } finally {
    await store.close();
    await other.close();
  }
});

test('a commit that lost to another writer while its answer was late is reported lost, not committed', async () => {
  const prefix = randomPrefix();
  const store = await EtcdStore.open({ endpoints: [`127.0.0.1:${await proxy.port}`], prefix, callTimeoutMs: CALL_TIMEOUT_MS });
  const other = await EtcdStore.open({ endpoints: etcd.endpoints, prefix });
  try {
    const base = store.generation;
    // Answers to `store` (its watch included) held first, so it still sees `base` when the other
    // writer commits base+1: its transaction is sent, fails its compare, and that answer is late.
    proxy.holdAnswers(CALL_TIMEOUT_MS * 1.5);
    const theirs = '11111111-2222-4222-8222-222222222222';
    assert.is(await other.commit(base, base + 1, { datasets: new Map([[theirs, dataset(theirs)]]), leases: new Map() }), true);
    assert.is(store.generation, base, 'our store has not heard of it');
    const mine = 'abcdef01-3333-4333-8333-333333333333';
    const started = Date.now();
    const committed = await store.commit(base, base + 1, { datasets: new Map([[mine, dataset(mine)]]), leases: new Map() });
    assert.ok(Date.now() - started >= CALL_TIMEOUT_MS, 'the first answer did miss its deadline (else this test proves nothing)');
    assert.is(committed, false);
    await other.catchUp();
    assert.not.ok(other.deployment.datasets.get(mine), 'never applied');
  } finally {
    await store.close();
    await other.close();
  }
});

test.run();
