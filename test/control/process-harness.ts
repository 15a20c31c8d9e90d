// A real `flocker control` process (node --import tsx src/main.ts control) on free ports with
// real certificates, plus a mutual-TLS HTTPS caller.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CertPair, TestCerts } from '../support/certs.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ControlProcess {
  child: ChildProcess;
  apiPort: number;
  agentPort: number;
  stderr(): string;
  /** SIGTERM and wait for exit; resolves the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/** Every control process still running when the test process exits is killed, even after a failed test. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function spawnControl(dataDir: string, certsDir: string, env: Record<string, string> = {}, extra: string[] = []): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [
    '--import', 'tsx', join(root, 'src/main.ts'), 'control', '--data-dir', dataDir, '--certificates-dir', certsDir,
    '--api-port', '0', '--agent-port', '0', '--listen', '127.0.0.1', ...extra,
  ], { cwd: root, env: { ...process.env, FLOCKER_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => {
    live.delete(child);
    r(code);
  }));
  return { child, stderr: () => err, exited };
}

export async function startControl(dataDir: string, certsDir: string, env: Record<string, string> = {}, extra: string[] = [], timeoutMs = 20_000): Promise<ControlProcess> {
  const { child, stderr, exited } = spawnControl(dataDir, certsDir, env, extra);
  const info = join(dataDir, 'control.json');
  // Generous: on a loaded 2-core machine tsx alone can take many seconds to start.
  const deadline = Date.now() + Math.max(timeoutMs, 90_000);
  let exitCode: number | null | undefined;
  void exited.then((c) => { exitCode = c === null ? -1 : c; });
  for (;;) {
    if (existsSync(info)) {
      const j = JSON.parse(readFileSync(info, 'utf8')) as { pid: number; api_port: number; agent_port: number };
      if (j.pid === child.pid) {
        return {
          child, apiPort: j.api_port, agentPort: j.agent_port, stderr,
          async stop() { child.kill('SIGTERM'); return exited; },
          async kill9() { child.kill('SIGKILL'); await exited; },
        };
      }
    }
    if (exitCode !== undefined) throw new Error(`control exited (${exitCode}) before listening:\n${stderr()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`control did not write control.json in time:\n${stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50)); // poll interval of the deadline loop above
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** One HTTPS request with a client certificate (paths) trusted against the cluster CA. */
export function callApi(port: number, certs: TestCerts, who: CertPair | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers },
      ca: readFileSync(certs.caCert), servername: 'control-service',
      ...(who ? { cert: readFileSync(who.cert), key: readFileSync(who.key) } : {}),
      agent: false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(typeof body === 'string' ? body : JSON.stringify(body));
    else req.end();
  });
}
