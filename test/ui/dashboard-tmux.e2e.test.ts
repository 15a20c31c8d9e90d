// `flocker dashboard` in a real pseudo-terminal (tmux) against a real cluster: a dataset created
// through the API appears, a move shows the new node, a move from the keyboard reaches the
// cluster, and q quits with exit code 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { privateTmux, waitFor as pollFor } from '../support/tmux.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const session = 'dash';
let cluster: TestCluster;

const tmux = privateTmux();
const screen = (): string => tmux('capture-pane', '-p', '-t', session);
const waitFor = (what: string, check: (s: string) => boolean, ms?: number): Promise<string> => pollFor(what, check, screen, ms);

const rowOf = (s: string, name: string): string => s.split('\n').find((l) => l.includes(` ${name} `)) ?? '';

test.before(async () => {
  if (spawnSync('tmux', ['-V']).status !== 0) spawnSync('apt-get', ['install', '-y', 'tmux'], { stdio: 'ignore' });
  cluster = await startCluster({ nodes: 2 });
  const cmd = [
    process.execPath, '--import', 'tsx', 'src/main.ts', 'dashboard',
    '--control-port', String(cluster.apiPort), '--certs-path', cluster.certsPath, '--user', cluster.user,
  ].map((a) => `'${a}'`).join(' ');
  // The pane outlives the dashboard so its exit code can be read.
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', '-c', ROOT, `${cmd}; echo "EXITED $?"; sleep 600`);
});

test.after(async () => {
  try { tmux('kill-server'); } catch { /* already gone */ }
  await cluster?.stop();
});

test('a dataset created through the API appears, a move shows the new node, keys move it, q quits', async () => {
  const [a, b] = cluster.nodes;
  await waitFor('the dashboard to be live', (s) => s.includes('● live') && s.includes('2 nodes'));
  const d = await cluster.client.createDataset({ primary: a!.uuid, maximum_size: 128 * 2 ** 20, metadata: { name: 'web-db' } });
  let s = await waitFor('web-db converged on its node', (x) => /web-db\s+128M\s+(\S+)\s+(\S+)\s+converged/.test(x) && rowOf(x, 'web-db').includes(a!.uuid.slice(0, 8)));
  assert.match(s, `dataset web-db created on ${a!.uuid.slice(0, 8)}`);

  await cluster.client.moveDataset(d.dataset_id, b!.uuid);
  s = await waitFor('web-db on the other node', (x) => {
    const row = rowOf(x, 'web-db');
    return row.includes(`${b!.uuid.slice(0, 8)} ${b!.uuid.slice(0, 8)}`) && row.includes('converged');
  });
  assert.match(s, `dataset web-db moved to ${b!.uuid.slice(0, 8)}`);
  assert.match(s, '1/1 converged');

  // back again from the keyboard: m, the only other node, Enter
  tmux('send-keys', '-t', session, 'm');
  await waitFor('the move picker', (x) => x.includes('MOVE web-db'));
  tmux('send-keys', '-t', session, 'Enter');
  await waitFor('web-db back on the first node', (x) => rowOf(x, 'web-db').includes(`${a!.uuid.slice(0, 8)} ${a!.uuid.slice(0, 8)}`));
  const config = await cluster.client.listDatasets();
  assert.is(config.datasets.find((x) => x.dataset_id === d.dataset_id)?.primary, a!.uuid);

  for (const line of screen().split('\n')) assert.ok([...line].length <= 100);
  tmux('send-keys', '-t', session, 'q');
  await waitFor('the dashboard to exit', (x) => x.includes('EXITED 0'), 10_000);
});

test.run();
