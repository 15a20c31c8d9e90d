// GET /v1/events sends changes, not sections: a snapshot plus the deltas applied in order must
// equal a fresh snapshot, section by section. Random sequences (fast-check) of creates, moves,
// deletes, lease changes and agent hellos/reports/disconnects, some in one burst, against a real
// ControlHub over a MemoryStore, read as the route hands them out (hub.eventJson on every
// 'events' announcement, a late follower joining mid-way from a fresh snapshot). Also: a reader that stops
// reading is still dropped once what it is owed passes the floor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { ControlHub, type Section } from '../../src/roles/control/hub.js';
import { eventPaceMs, MAX_EVENT_PACE_MS } from '../../src/roles/control/event-pace.js';
import { createApp } from '../../src/roles/control/app.js';
import { acquireLeaseEdit, createEdit, deleteEdit, expireLeasesEdit, moveEdit, releaseLeaseEdit } from '../../src/roles/control/edits.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import type { NodeReport, Phase } from '../../src/model/cluster-state.js';
import { applyEvent, type ClusterEvent, type ClusterSnapshot } from '../../src/protocol/events.js';
import { until } from '../support/until.js';

const node = (n: number) => `${String(n + 1).repeat(8)}-0000-4000-8000-00000000000${n}` as NodeId;
const ds = (n: number) => `dddddddd-0000-4000-8000-${String(n).padStart(12, '0')}` as DatasetId;
const tick = () => new Promise((r) => setImmediate(r));

type Op =
  | { kind: 'create'; d: number; n: number; name: string }
  | { kind: 'move'; d: number; n: number }
  | { kind: 'delete'; d: number }
  | { kind: 'lease'; d: number; n: number; secs: number | null }
  | { kind: 'release'; d: number }
  | { kind: 'hello'; n: number; era: number }
  | { kind: 'report'; n: number; mounted: number[]; unmounted: number[]; progress: [number, Phase][] }
  | { kind: 'disconnect'; n: number }
  | { kind: 'time'; ms: number };

// Few datasets and nodes, so changes hit the same rows again and again.
const d = fc.integer({ min: 0, max: 9 });
const n = fc.integer({ min: 0, max: 3 });
const ids = fc.uniqueArray(d, { maxLength: 5 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), d, n, name: fc.constantFrom('', 'db', 'logs') }) },
  fc.record({ kind: fc.constant('move' as const), d, n }),
  fc.record({ kind: fc.constant('delete' as const), d }),
  fc.record({ kind: fc.constant('lease' as const), d, n, secs: fc.option(fc.integer({ min: 1, max: 5 })) }),
  fc.record({ kind: fc.constant('release' as const), d }),
  fc.record({ kind: fc.constant('hello' as const), n, era: fc.integer({ min: 0, max: 2 }) }),
  { weight: 3, arbitrary: fc.record({
    kind: fc.constant('report' as const), n, mounted: ids, unmounted: ids,
    progress: fc.array(fc.tuple(d, fc.constantFrom<Phase>('creating', 'mounting', 'error', 'converged')), { maxLength: 3 }),
  }) },
  fc.record({ kind: fc.constant('disconnect' as const), n }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.constantFrom(1000, 40_000, 200_000) }),
);

function report(o: Extract<Op, { kind: 'report' }>, now: number): NodeReport {
  return {
    manifestations: o.mounted.map((i) => ({ datasetId: ds(i), path: `/flocker/${ds(i)}`, maximumSize: i % 2 ? null : 2 ** 20 * (i + 1) })),
    nonManifest: o.unmounted.map((i) => ({ datasetId: ds(i), maximumSize: i % 3 ? null : 2 ** 20 })),
    progress: o.progress.map(([i, phase]) => ({ datasetId: ds(i), phase, reason: `${phase} ${i}`, since: now, ...(phase === 'error' ? { lastError: 'boom' } : {}) })),
  };
}

/** Do `o`; writes are returned unawaited so a step's ops can land in one burst. */
function perform(hub: ControlHub, clock: { t: number }, o: Op): Promise<unknown> | undefined {
  switch (o.kind) {
    case 'create': return hub.write(createEdit({ datasetId: ds(o.d), primary: node(o.n), maximumSize: null, metadata: o.name ? { name: o.name } : {} }));
    case 'move': return hub.write(moveEdit(ds(o.d), node(o.n)));
    case 'delete': return hub.write(deleteEdit(ds(o.d)));
    case 'lease': return hub.write(acquireLeaseEdit({ datasetId: ds(o.d), nodeId: node(o.n), expiresInSeconds: o.secs }));
    case 'release': return hub.write(releaseLeaseEdit(ds(o.d)));
    case 'hello': hub.agentHello(node(o.n), `era-${o.era}`, `10.0.0.${o.n + 1}`); return undefined;
    case 'report': hub.agentReport(node(o.n), report(o, clock.t)); return undefined;
    case 'disconnect': hub.agentDisconnected(node(o.n)); return undefined;
    case 'time':
      clock.t += o.ms;
      hub.expireNodes();
      hub.checkReachability();
      return hub.write(expireLeasesEdit);
  }
}

/** A follower as the route feeds one: the snapshot, then every announced section's event. */
function follow(hub: ControlHub): { snapshot: () => ClusterSnapshot; stop: () => void } {
  const start = hub.openEvents();
  if (start.kind !== 'snapshot') throw new Error('a reader without Last-Event-ID gets a snapshot');
  let snap = applyEvent(undefined, { type: 'snapshot', data: JSON.parse(start.json) as ClusterSnapshot });
  const onChange = (sections: ReadonlySet<Section>): void => {
    for (const s of sections) snap = applyEvent(snap, { type: s, data: JSON.parse(hub.eventJson(s)) } as ClusterEvent);
  };
  hub.on('events', onChange);
  return { snapshot: () => snap as ClusterSnapshot, stop: () => { hub.off('events', onChange); hub.closeEvents(); } };
}

/** Leases carry seconds remaining at the time of sending; the rest must match exactly. */
function comparable(s: ClusterSnapshot): Omit<ClusterSnapshot, 'at'> {
  const { at: _at, ...rest } = s;
  return { ...rest, leases: s.leases.map((l) => ({ ...l, expires: l.expires === null ? null : 0 })) };
}

test('a snapshot plus the deltas applied in order equals a fresh snapshot, section by section', async () => {
  // The first follower may leave (at leaveAt) before the late one joins (at joinAt): then the
  // late one is the only reader, and what changed while nobody read is not owed to it.
  await fc.assert(fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 25 }), d, fc.integer({ min: 0, max: 30 }), async (steps, joinAt, leaveAt) => {
    const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
    // Unpaced: every announcement is an event (the pacing has its own test below).
    const hub = new ControlHub({ store: new MemoryStore(), now: () => clock.t, nodeTimeoutMs: 150_000, unreachableAfterMs: 30_000, eventsEveryMs: 0 });
    let first: ReturnType<typeof follow> | undefined = follow(hub);
    let late: ReturnType<typeof follow> | undefined;
    try {
      for (const [i, burst] of steps.entries()) {
        if (i === leaveAt) {
          first?.stop();
          first = undefined;
        }
        const writes = burst.map((o) => perform(hub, clock, o));
        // The late follower's snapshot is taken mid-burst: some changes committed, not yet announced.
        if (i === joinAt) late = follow(hub);
        await Promise.all(writes);
        for (let k = 0; k < 4; k++) await tick();
        const fresh = comparable(JSON.parse(hub.snapshotJson()) as ClusterSnapshot);
        for (const [who, f] of [['first', first], ['late', late]] as const) {
          if (!f) continue;
          const got = comparable(f.snapshot());
          for (const section of Object.keys(fresh) as (keyof typeof fresh)[]) {
            assert.equal(got[section], fresh[section], `${who} follower, step ${i}, section ${section}`);
          }
          assert.ok(f.snapshot().at <= clock.t, 'events are stamped with the hub\'s clock');
        }
      }
    } finally {
      first?.stop();
      late?.stop();
    }
  }), { numRuns: Number(process.env.RUNS ?? 200) });
});

test('each change is serialised once for all readers', async () => {
  const hub = new ControlHub();
  const texts: string[][] = [[], []];
  for (const t of texts) hub.on('events', (sections) => { for (const s of sections) t.push(hub.eventJson(s)); });
  await hub.write(createEdit({ datasetId: ds(1), primary: node(0), maximumSize: null, metadata: {} }));
  await until('the create to be announced', () => texts[1]!.length >= 2);
  assert.equal(texts[0], texts[1]);
  assert.ok(texts[0]!.every((t, i) => t === texts[1]![i]), 'the same string objects');
  const conf = JSON.parse(texts[0]![0]!) as { set: { dataset_id: string }[]; removed: string[] };
  assert.equal(conf.set.map((r) => r.dataset_id), [ds(1)]);
  assert.equal(conf.removed, []);
});

test('a reader back with the id of its snapshot or of the last announcement it took resumes; it misses nothing, and gets nothing twice', async () => {
  const hub = new ControlHub();
  const start = hub.openEvents();
  if (start.kind !== 'snapshot') throw new Error('a first reader gets a snapshot');
  hub.closeEvents();
  // Straight back, nothing happened meanwhile: nothing to replay.
  const again = hub.openEvents(start.id);
  assert.equal(again, { kind: 'resumed', missed: [] });
  hub.closeEvents();
  // Away while a create is announced: that announcement, and only it.
  let announced = 0;
  hub.on('events', () => { announced += 1; });
  await hub.write(createEdit({ datasetId: ds(7), primary: node(0), maximumSize: null, metadata: {} }));
  await until('the create to be announced', () => announced >= 1);
  const back = hub.openEvents(start.id);
  assert.is(back.kind, 'resumed');
  const missed = back.kind === 'resumed' ? back.missed : [];
  assert.is(missed.length, 1);
  const conf = missed[0]!.events.find(([s]) => s === 'configuration');
  assert.equal((JSON.parse(conf![1]) as { set: { dataset_id: string }[] }).set.map((r) => r.dataset_id), [ds(7)]);
  hub.closeEvents();
  assert.equal(hub.openEvents(hub.eventId(missed[0]!.generation)), { kind: 'resumed', missed: [] });
  hub.closeEvents();
  // Not this hub's, or not an id at all: a snapshot.
  for (const id of ['0badc0de0bad.1', 'nonsense', `${start.id}x`]) assert.is(hub.openEvents(id).kind, 'snapshot', id);
});

test('changes that follow one another within the pace reach the event stream together, and whole', async () => {
  const hub = new ControlHub({ eventsEveryMs: 10_000 });
  const f = follow(hub);
  let events = 0;
  hub.on('events', () => { events += 1; });
  try {
    for (let i = 0; i < 5; i++) await hub.write(createEdit({ datasetId: ds(i), primary: node(0), maximumSize: null, metadata: {} }));
    await until('the first create to be announced at once', () => f.snapshot().configuration.length >= 1);
    assert.is(events, 1, 'the four that followed wait for the pace');
    assert.is(f.snapshot().configuration.length, 1);
  } finally {
    f.stop();
  }
  const paced = new ControlHub({ eventsEveryMs: 30 });
  const g = follow(paced);
  let count = 0;
  paced.on('events', () => { count += 1; });
  try {
    for (let i = 0; i < 5; i++) await paced.write(createEdit({ datasetId: ds(i), primary: node(0), maximumSize: null, metadata: {} }));
    await until('every create to reach the follower', () => g.snapshot().configuration.length === 5);
    assert.ok(count < 5, `${count} announcements for 5 commits`);
    assert.equal(comparable(g.snapshot()), comparable(JSON.parse(paced.snapshotJson()) as ClusterSnapshot));
  } finally {
    g.stop();
  }
});

test('the pace follows the cluster size: a small cluster announces every change at once, 100,000 datasets at most every 50 ms', async () => {
  assert.is(eventPaceMs(100_000), MAX_EVENT_PACE_MS);
  assert.is(eventPaceMs(10_000_000), MAX_EVENT_PACE_MS);
  assert.ok(eventPaceMs(1_000) <= 1, 'a thousand datasets wait at most a millisecond');
  const hub = new ControlHub();
  const f = follow(hub);
  let events = 0;
  hub.on('events', () => { events += 1; });
  try {
    for (let i = 0; i < 5; i++) {
      await hub.write(createEdit({ datasetId: ds(i), primary: node(0), maximumSize: null, metadata: {} }));
      // The hub announces on the turn after a commit; an event held for a pace would need a timer.
      await new Promise((r) => setImmediate(r));
      assert.is(events, i + 1, `create ${i} announced with no pace to wait for`);
    }
    await until('the follower to have all five', () => f.snapshot().configuration.length === 5);
  } finally {
    f.stop();
  }
});

test('a reader that stops reading is dropped, and logged, once what it is owed passes the floor', async () => {
  const hub = new ControlHub();
  const logged = new PassThrough();
  let log = '';
  logged.on('data', (b: Buffer) => { log += b.toString(); });
  const server = createServer(createApp(hub, pino({ level: 'warn' }, logged), { minBacklogBytes: 64 * 1024 }).callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  try {
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    socket.pause();
    await until('the reader to subscribe', () => hub.listenerCount('events') === 1);
    let i = 0;
    const metadata = Object.fromEntries(Array.from({ length: 15 }, (_, k) => [`k${k}`, 'x'.repeat(256)]));
    // Until the kernel's buffers and then the floor are full: the drop is the end of the wait.
    while (hub.listenerCount('events') > 0) {
      await Promise.all(Array.from({ length: 20 }, () => hub.write(createEdit({ datasetId: ds(i++), primary: node(0), maximumSize: null, metadata }))));
      await tick();
    }
    await until('the drop to be logged', () => log.includes('reader too far behind'));
    assert.match(log, /"backlog_bytes":\d+/);
  } finally {
    socket.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test.run();
