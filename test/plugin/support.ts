// Running `flocker plugin` as a real process in tests, and talking Docker's protocol to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface PluginProcess {
  readonly socket: string;
  readonly proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

export async function startPlugin(config: string, socket: string, extra: string[] = []): Promise<PluginProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts'), 'plugin', '--config', config, '--socket', socket, ...extra], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', FLOCKER_LOG_LEVEL: process.env.FLOCKER_LOG_LEVEL ?? 'info' },
  });
  live.add(proc);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    live.delete(proc);
  };
  // Generous: on a loaded 2-core machine tsx alone can take many seconds to start.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`flocker plugin exited (${proc.exitCode}):\n${out}`);
    if (existsSync(socket)) {
      try {
        await pluginCall(socket, '/Plugin.Activate', null);
        break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`flocker plugin did not serve ${socket} within 90 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { socket, proc, output: () => out, stop };
}

/** POST one Docker plugin call; resolves the JSON answer (Docker's HTTP 200 + Err convention). */
export function pluginCall(socket: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolvePost, reject) => {
    const req = request({
      socketPath: socket, path, method: 'POST',
      headers: { 'Content-Type': 'application/vnd.docker.plugins.v1+json', Accept: 'application/vnd.docker.plugins.v1.2+json' },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${path}: HTTP ${res.statusCode}: ${text}`));
        try {
          resolvePost(JSON.parse(text) as Record<string, unknown>);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
