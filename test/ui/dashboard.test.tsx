import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { render } from 'ink-testing-library';
import Dashboard from '../../src/ui/Dashboard.js';
import { D1, D2, D3, fakeClient, N2, N3, sampleSnapshot, type FakeClient } from './fake-client.js';
import { holdsFor } from '../support/until.js';

const ARROW_DOWN = '\u001B[B';
const ENTER = '\r';
const ESC = '\u001B';

const tick = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(10);
  }
}

async function mount(): Promise<{ c: FakeClient; app: ReturnType<typeof render>; frame: () => string }> {
  const c = fakeClient();
  const app = render(<Dashboard client={c} backoff={{ initialMs: 20, maxMs: 50 }} />);
  const frame = (): string => app.lastFrame() ?? '';
  c.push({ type: 'snapshot', data: sampleSnapshot() });
  await until('first snapshot', () => frame().includes('web-db'));
  return { c, app, frame };
}

async function press(app: ReturnType<typeof render>, key: string): Promise<void> {
  app.stdin.write(key);
  await tick();
}

/** Frames are throttled, and a busy machine is slow: wait for the screen a key leads to. */
async function shows(frame: () => string, text: string, present = true): Promise<string> {
  await until(`${present ? '' : 'no '}"${text}" on screen`, () => frame().includes(text) === present);
  return frame();
}

test('shows the summary, nodes, datasets with phases and reasons, leases and events', async () => {
  const { app, frame } = await mount();
  const f = frame();
  assert.match(f, '1/3 converged, 1 moving, 1 error');
  assert.match(f, '● live');
  for (const s of ['11111111', '10.0.0.3', 'last seen', 'cache', 'moving-out', 'logs', 'losetup failed', 'LEASES', 'web-db→11111111 (never)', 'connected: 3 node(s)']) {
    assert.match(f, s);
  }
  assert.match(f, /⇄ cache/);
  app.unmount();
});

test('the frame is never taller than the terminal allows and no line is wider than it', async () => {
  const { app, frame } = await mount();
  const lines = frame().split('\n');
  assert.ok(lines.length <= 23, `frame has ${lines.length} lines`);
  for (const l of lines) assert.ok([...l].length <= 100, `too wide: ${l}`);
  app.unmount();
});

test('a change on the stream appears, and the log says what happened', async () => {
  const { c, app, frame } = await mount();
  const s = sampleSnapshot();
  s.state[1] = { dataset_id: D2, primary: N2 };
  s.convergence[1] = { ...s.convergence[1]!, phase: 'converged', actual_node: N2, reason: 'mounted' };
  c.push({ type: 'state', data: { at: s.at, set: [s.state[1]!], removed: [] } });
  c.push({ type: 'convergence', data: { at: s.at, set: [s.convergence[1]!], removed: [] } });
  await until('the move to show', () => frame().includes('2/3 converged'));
  assert.match(frame(), 'dataset cache moved to 22222222');
  app.unmount();
});

test('arrows and j/k select; Enter opens the detail with metadata, phases seen and last error; Esc returns', async () => {
  const { app, frame } = await mount();
  await press(app, 'j');
  await press(app, ENTER);
  let f = await shows(frame, 'DATASET logs');
  assert.match(f, D3);
  assert.match(f, 'name=logs');
  assert.match(f, 'PHASES SEEN');
  assert.match(f, 'error: create failed');
  assert.match(f, 'last error losetup failed: no free loop device');
  await press(app, ESC);
  await shows(frame, 'NODES');
  await press(app, 'k');
  await press(app, ARROW_DOWN);
  await press(app, ARROW_DOWN);
  await press(app, ENTER);
  f = await shows(frame, 'DATASET web-db');
  assert.match(f, 'held by 11111111');
  app.unmount();
});

test('/ filters the datasets as you type; Esc clears the filter', async () => {
  const { app, frame } = await mount();
  await press(app, '/');
  for (const ch of 'web') await press(app, ch);
  let f = await shows(frame, '/web');
  assert.match(f, '1 of 3 match');
  assert.match(f, 'DATASETS 1/3');
  assert.not.match(f, 'moving-out');
  await press(app, ENTER);
  await shows(frame, '/web  1 of 3 match');
  await press(app, ESC);
  f = await shows(frame, 'DATASETS (3)');
  assert.match(f, 'moving-out');
  app.unmount();
});

test('m chooses a node and moves the dataset through the client', async () => {
  const { c, app, frame } = await mount();
  // cache (first row) is meant for N2: the picker offers N1 and N3.
  await press(app, 'm');
  const f = await shows(frame, 'MOVE cache');
  assert.match(f, '11111111');
  assert.match(f, '33333333');
  await press(app, ARROW_DOWN);
  await press(app, ENTER);
  await until('the move call', () => c.calls.length === 1);
  assert.equal(c.calls, [`move ${D2} ${N3}`]);
  await until('the confirmation', () => frame().includes('move of cache to 33333333 requested'));
  app.unmount();
});

test('d asks for confirmation: n cancels, y deletes through the client', async () => {
  const { c, app, frame } = await mount();
  await press(app, 'G');
  await press(app, 'd');
  await shows(frame, 'Delete dataset web-db?');
  await press(app, 'n');
  await shows(frame, 'Delete dataset', false);
  assert.equal(c.calls, []);
  await press(app, 'd');
  await shows(frame, 'Delete dataset web-db?');
  await press(app, 'y');
  await until('the delete call', () => c.calls.length === 1);
  assert.equal(c.calls, [`delete ${D1}`]);
  await until('the confirmation', () => frame().includes('web-db marked deleted'));
  app.unmount();
});

test('a lost stream shows that it is reconnecting, then recovers by itself', async () => {
  const { c, app, frame } = await mount();
  c.fail('socket hang up');
  await until('the reconnecting status', () => frame().includes('connection lost (socket hang up)'));
  assert.match(frame().split('\n')[0]!, /reconnecting.*\(attempt 1\)/);
  const s = sampleSnapshot();
  s.nodes[2] = { ...s.nodes[2]!, connected: true };
  c.push({ type: 'snapshot', data: s });
  await until('live again', () => frame().includes('● live'));
  assert.ok(c.subscriptions >= 2);
  assert.match(frame(), 'node 33333333 (10.0.0.3) reconnected');
  app.unmount();
});

test('q quits: the app unmounts and stops following the stream', async () => {
  const { c, app, frame } = await mount();
  assert.is(c.active, 1);
  await press(app, 'q');
  await until('the stream to be released', () => c.active === 0);
  const last = frame();
  c.push({ type: 'snapshot', data: { ...sampleSnapshot(), configuration: [] } });
  await holdsFor('the screen stays as it was', () => frame() === last, 100);
  app.unmount();
});

test.run();
