// `flocker cluster up` in a real terminal (tmux): the dashboard appears once the nodes have
// reported, and `q` stops the whole cluster, exit code 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipTest } from '../support/skip.js';

let sessions = 0;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tmux = (...args: string[]): string => spawnSync('tmux', args, { encoding: 'utf8' }).stdout ?? '';

async function waitFor(what: string, ok: () => boolean, ms: number, screen: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${screen()}`);
    await sleep(200);
  }
}

async function dashboardSession(end: (o: { dir: string; session: string }) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-tty-'));
  const session = `flocker-tty-${process.pid}-${++sessions}`;
  const status = join(dir, 'exit-status');
  // CI=true on purpose: the dashboard must be live in a terminal even inside a CI job.
  const cmd = `CI=true ${process.execPath} --import tsx src/main.ts cluster up --dir ${dir}/c --nodes 1 --api-port 0 --agent-port 0; echo $? > ${status}; sleep 60`;
  spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '110', '-y', '30', '-c', process.cwd(), cmd]);
  const screen = (): string => tmux('capture-pane', '-p', '-t', session);
  let upPid: number | undefined;
  try {
    await waitFor('the dashboard', () => /NODES \(1\)/.test(screen()) && /connected/.test(screen()), 50_000, screen);
    assert.ok(existsSync(join(dir, 'c', 'cluster.json')));
    upPid = (JSON.parse(readFileSync(join(dir, 'c', 'cluster.json'), 'utf8')) as { pid: number }).pid;
    assert.match(screen(), /q to stop the cluster/);
    end({ dir: join(dir, 'c'), session });
    await waitFor('cluster up to exit', () => existsSync(status), 30_000, screen);
    assert.is(readFileSync(status, 'utf8').trim(), '0', screen());
    assert.match(screen(), /cluster up: stopped/);
    assert.not.ok(existsSync(join(dir, 'c', 'pids')), 'every child was stopped');
  } finally {
    tmux('kill-session', '-t', session);
    if (upPid !== undefined) {
      try { process.kill(upPid, 'SIGKILL'); } catch { /* it ended, as it should */ }
    }
    const pids = join(dir, 'c', 'pids');
    if (existsSync(pids)) {
      for (const l of readFileSync(pids, 'utf8').trim().split('\n')) {
        try { process.kill(Number(l.split(' ')[0]), 'SIGKILL'); } catch { /* gone */ }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

test('dashboard in a terminal, q stops everything', async () => {
  if (!hasTmux) {
    skipTest('tmux is not installed');
    return;
  }
  await dashboardSession(({ session }) => tmux('send-keys', '-t', session, 'q'));
});

test('SIGTERM while the dashboard is up closes it and stops everything', async () => {
  if (!hasTmux) return;
  await dashboardSession(({ dir }) => {
    const info = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { pid: number };
    process.kill(info.pid, 'SIGTERM');
  });
});

test.run();
