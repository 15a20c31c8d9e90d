// Two control services started at once on one data directory: exactly one may own it, whether
// the pid file is absent or left stale by a crash (the case that used to race: both saw it stale,
// one removed it and linked its own, then the other removed that fresh lock and linked too).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { takePidLock } from '../../src/store/pid-lock.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
test.after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'flocker-pidlock-'));
  dirs.push(d);
  return d;
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function racer(path: string, startAt: number): { child: ChildProcess; verdict: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/take-lock.ts'), path, String(startAt)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const verdict = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`racer exited (${code}) without a verdict: ${out}`)));
  });
  return { child, verdict };
}

async function race(stale: boolean): Promise<string[]> {
  const path = join(tmp(), 'control.pid');
  if (stale) writeFileSync(path, `${deadPid()}\n`);
  const startAt = Date.now() + 2500;
  const racers = [racer(path, startAt), racer(path, startAt)];
  const verdicts = await Promise.all(racers.map((r) => r.verdict));
  for (const r of racers) r.child.stdin!.end();
  await Promise.all(racers.map((r) => new Promise((res) => (r.child.exitCode !== null ? res(null) : r.child.on('exit', res)))));
  return verdicts;
}

test('of two concurrent starts exactly one wins, with a stale pid file and without', async () => {
  for (let round = 0; round < 6; round++) {
    const verdicts = await race(round % 3 !== 0);
    const won = verdicts.filter((v) => v === 'won').length;
    assert.is(won, 1, `round ${round}: ${verdicts.join(' | ')}`);
    const lost = verdicts.find((v) => v !== 'won') ?? '';
    assert.match(lost, /already running with this data directory/);
  }
});

test('a stale pid file is taken over and the lock is released cleanly', () => {
  const path = join(tmp(), 'control.pid');
  writeFileSync(path, `${deadPid()}\n`);
  const lock = takePidLock(path);
  assert.ok(existsSync(path));
  assert.not.ok(existsSync(`${path}.breaking`));
  lock.release();
  assert.not.ok(existsSync(path));
});

test('a breaker left by a process killed inside it is cleared after a while', () => {
  const path = join(tmp(), 'control.pid');
  writeFileSync(path, `${deadPid()}\n`);
  const breaker = `${path}.breaking`;
  spawnSync('mkdir', [breaker]);
  spawnSync('touch', ['-d', '1 minute ago', breaker]);
  const lock = takePidLock(path);
  lock.release();
  assert.not.ok(existsSync(breaker));
});

test.run();
