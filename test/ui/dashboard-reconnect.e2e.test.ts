// The dashboard in a real pty (tmux) survives its control service going away: it says it is
// reconnecting, and when a control service is back on the same port it is live again by itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCerts } from '../support/certs.js';
import { privateTmux, waitFor as pollFor } from '../support/tmux.js';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const session = 'dash';
const dir = mkdtempSync(join(tmpdir(), 'flocker-dash-reconnect-'));
const certs = join(dir, 'certs');
const data = join(dir, 'data');
let control: ChildProcess | undefined;

const tmux = privateTmux();
const screen = (): string => tmux('capture-pane', '-p', '-t', session);
const waitFor = (what: string, check: (s: string) => boolean, read: () => string = screen, ms?: number): Promise<string> =>
  pollFor(what, check, read, ms);

async function startControl(apiPort: number): Promise<number> {
  const info = join(data, 'control.json');
  if (existsSync(info)) unlinkSync(info);
  control = spawn(process.execPath, [
    '--import', 'tsx', 'src/main.ts', 'control', '--data-dir', data, '--certificates-dir', certs,
    '--api-port', String(apiPort), '--agent-port', '0', '--listen', '127.0.0.1',
  ], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, FLOCKER_LOG_LEVEL: 'warn' } });
  const text = await waitFor('control.json', (t) => t !== '', () => (existsSync(info) ? readFileSync(info, 'utf8') : ''));
  return (JSON.parse(text) as { api_port: number }).api_port;
}

async function stopControl(): Promise<void> {
  const c = control;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
}

test.after(async () => {
  try { tmux('kill-server'); } catch { /* not started */ }
  await stopControl();
  rmSync(dir, { recursive: true, force: true });
});

test('control service goes away: the dashboard shows it is reconnecting, then is live again by itself', async () => {
  await makeCerts(certs, { nodes: 1 });
  const port = await startControl(0);
  const client = clientFromCertsDir({ host: '127.0.0.1', port, certsPath: certs, user: 'user' });
  try {
    await client.createDataset({ primary: '11111111-aaaa-4aaa-8aaa-000000000001', metadata: { name: 'survivor' } });
  } finally {
    client.close();
  }
  const cmd = [process.execPath, '--import', 'tsx', 'src/main.ts', 'dashboard', '--control-port', String(port), '--certs-path', certs]
    .map((a) => `'${a}'`).join(' ');
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', '-c', ROOT, `${cmd}; echo "EXITED $?"; sleep 600`);
  await waitFor('the dataset, live', (s) => s.includes('survivor') && s.includes('● live'));

  await stopControl();
  const down = await waitFor('the reconnecting status', (s) => s.includes('reconnecting'));
  assert.match(down, 'connection lost');
  assert.not.match(down, 'EXITED');

  await startControl(port);
  const back = await waitFor('live again', (s) => s.includes('● live') && !s.split('\n')[0]!.includes('reconnecting'));
  assert.match(back, 'survivor');
  tmux('send-keys', '-t', session, 'q');
  await waitFor('the dashboard to exit', (s) => s.includes('EXITED 0'), screen, 10_000);
});

test.run();
