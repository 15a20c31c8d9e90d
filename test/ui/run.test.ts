import '../support/live-terminal.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough, Writable } from 'node:stream';
import { runDashboard, snapshotText } from '../../src/ui/run.js';
import { UserError } from '../../src/errors.js';
import { fakeClient, sampleSnapshot } from './fake-client.js';

/** A stdout that keeps what is written: a pipe (false), or a terminal, of a size if given (0 = a pty opened without a size). */
function fakeStdout(tty: { columns?: number; rows?: number } | false): NodeJS.WriteStream & { text: () => string } {
  let out = '';
  const w = new Writable({ write(chunk, _enc, cb) { out += String(chunk); cb(); } });
  return Object.assign(w, { isTTY: tty !== false, ...(tty || {}), text: () => out }) as unknown as NodeJS.WriteStream & { text: () => string };
}

function fakeStdin(): NodeJS.ReadStream {
  const s = new PassThrough();
  return Object.assign(s, { isTTY: true, setRawMode: () => s, ref: () => s, unref: () => s }) as unknown as NodeJS.ReadStream;
}

const strip = (s: string): string => s.replace(/\u001B\[[0-9;?]*[a-zA-Z]/g, '');

test('on a terminal it renders live and q quits with exit code 0', async () => {
  const c = fakeClient();
  const stdout = fakeStdout({ columns: 90, rows: 30 });
  const stdin = fakeStdin();
  const done = runDashboard({ client: c, stdout, stdin, title: 'test-cluster' });
  c.push({ type: 'snapshot', data: sampleSnapshot() });
  const end = Date.now() + 3000;
  while (!strip(stdout.text()).includes('web-db') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.match(strip(stdout.text()), 'test-cluster');
  stdin.write('q');
  const code = await Promise.race([done, new Promise((r) => setTimeout(() => r('still running'), 3000))]);
  assert.is(code, 0);
});

test('a pty without a size is drawn 80 columns wide, not one character per line', async () => {
  const c = fakeClient();
  const stdout = fakeStdout({ columns: 0, rows: 0 });
  const stdin = fakeStdin();
  const done = runDashboard({ client: c, stdout, stdin });
  c.push({ type: 'snapshot', data: sampleSnapshot() });
  const end = Date.now() + 3000;
  while (!strip(stdout.text()).includes('web-db') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.match(strip(stdout.text()), '1/3 converged, 1 moving, 1 error');
  stdin.write('q');
  assert.is(await done, 0);
});

test('--once prints a plain-text snapshot and returns 0, even when stdout is not a terminal', async () => {
  const c = fakeClient();
  const stdout = fakeStdout(false);
  c.push({ type: 'snapshot', data: sampleSnapshot() });
  assert.is(await runDashboard({ client: c, stdout, once: true }), 0);
  const out = stdout.text();
  assert.not.match(out, '\u001B');
  for (const s of ['1/3 converged', 'web-db', 'cache', 'logs', 'moving-out', '10.0.0.2']) assert.match(out, s);
});

test('--json prints the snapshot and its counts as JSON', async () => {
  const c = fakeClient();
  const stdout = fakeStdout({});
  c.push({ type: 'snapshot', data: sampleSnapshot() });
  assert.is(await runDashboard({ client: c, stdout, json: true }), 0);
  const parsed = JSON.parse(stdout.text()) as { summary: string; counts: { converged: number; error: number }; snapshot: { nodes: unknown[] } };
  assert.is(parsed.summary, '1/3 converged, 1 moving, 1 error · 3 nodes (2 connected)');
  assert.equal([parsed.counts.converged, parsed.counts.error, parsed.snapshot.nodes.length], [1, 1, 3]);
});

test('without --once a non-terminal stdout gets a clear message, not a crash', async () => {
  const stdout = Object.assign(new Writable({ write(_c, _e, cb) { cb(); } }), { isTTY: false }) as unknown as NodeJS.WriteStream;
  try {
    await runDashboard({ client: fakeClient(), stdout });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, 'needs a terminal');
  }
});

test('snapshotText lists every dataset however many there are', () => {
  const s = sampleSnapshot();
  for (let i = 0; i < 40; i++) {
    const id = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
    s.configuration.push({ dataset_id: id, primary: s.nodes[0]!.uuid, deleted: false, metadata: { name: `vol-${i}` } });
  }
  const text = snapshotText(s, 'flocker', 100);
  assert.match(text, 'vol-0 ');
  assert.match(text, 'vol-39');
});

test('the table says how long each dataset has been in its phase, by the clock it is drawn with', () => {
  const text = snapshotText(sampleSnapshot(), 'flocker', 120, Date.parse('2026-01-01T00:02:00.000Z'));
  assert.match(text, 'moving-out 2m');
  assert.match(text, 'converged 2m');
});

test.run();
