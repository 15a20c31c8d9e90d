// Configuration push to many agents (printed, never asserted): 100, 1,000 and 5,000 simulated
// agents — real WebSocket clients over mutual TLS with their own node certificates, spread over
// a few client processes — connected to a real `flocker control` process. Each round creates a
// dataset and times, per agent, from just before the API call until a push naming it arrives;
// prints push p50/max per round and how many agents got every change. Also prints control's RSS
// and what went over the wire (from its /metrics).
//
//   node --import tsx test/bench/push-fanout.ts                 all sizes (BENCH_PUSH_AGENTS=100,1000)
//   BENCH_CPU_PROF=/tmp/prof node --import tsx test/bench/push-fanout.ts   control runs with --cpu-prof;
//                                                              the top functions by self time are printed
//   BENCH_CONTROL_ROOT=/path/to/other/checkout                 run that checkout's control (a baseline)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request, Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webcrypto as crypto, randomUUID } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import WebSocket from 'ws';
import { clientTlsOptions } from '../../src/tls/options.js';
import { makeCerts } from '../support/certs.js';
import { freePort } from '../support/ports.js';
import { parseExposition, total } from '../metrics/parse.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const ROUNDS = Number(process.env.BENCH_PUSH_ROUNDS ?? 5);
const SIZES = (process.env.BENCH_PUSH_AGENTS ?? '100,1000,5000').split(',').map(Number);

interface SimAgent { readonly cert: string; readonly key: string }

// ---------------------------------------------------------------------------------------------
// Worker: holds a share of the simulated agents. Talks to the parent over IPC.
type ToWorker =
  | { type: 'connect'; url: string; ca: string; agents: SimAgent[] }
  | { type: 'watch'; id: string }
  | { type: 'stop' };
type FromWorker =
  | { type: 'connected'; n: number; failed: number }
  | { type: 'got'; id: string; times: number[]; missing: number; gaps: number };

async function worker(): Promise<void> {
  const sockets: WebSocket[] = [];
  let target: string | undefined;
  let got = new Map<number, number>();
  let gaps = 0;
  const generation: (number | undefined)[] = [];
  const send = (m: FromWorker): void => { process.send?.(m); };
  // Reads only the head of each message (type, from, generation): a simulated agent must not
  // spend the client processes' CPU parsing snapshots, or the bench measures itself.
  const HEAD = /^\{"type":"(cluster|delta)",(?:"from":(\d+),)?"generation":(\d+)/;
  const onMessage = (i: number, text: string): void => {
    const h = HEAD.exec(text);
    if (!h) return;
    if (h[1] === 'cluster') generation[i] = Number(h[3]);
    else if (generation[i] === Number(h[2])) generation[i] = Number(h[3]);
    else {
      gaps++;
      generation[i] = undefined;
      sockets[i]?.send('{"type":"resync"}');
    }
    if (target && !got.has(i) && text.includes(target)) got.set(i, performance.timeOrigin + performance.now());
  };
  process.on('message', (m: ToWorker) => {
    if (m.type === 'connect') {
      void (async () => {
        let failed = 0;
        let next = 0;
        // A few hundred handshakes at a time: control's accept queue, not the bench, sets the pace.
        await Promise.all(Array.from({ length: 200 }, async () => {
          while (next < m.agents.length) {
            const i = next++;
            const a = m.agents[i]!;
            const ok = await new Promise<boolean>((resolve) => {
              const ws = new WebSocket(m.url, { ...clientTlsOptions({ caCert: m.ca, cert: a.cert, key: a.key }), maxPayload: 1 << 30 });
              sockets[i] = ws;
              let first = true;
              ws.on('open', () => {
                ws.send(JSON.stringify({ type: 'hello', version: 1, era: randomUUID() }));
                ws.send(JSON.stringify({ type: 'report', report: { manifestations: [], nonManifest: [], progress: [] } }));
              });
              ws.on('message', (d) => {
                onMessage(i, d.toString());
                if (first) { first = false; resolve(true); }
              });
              ws.on('error', () => resolve(false));
            });
            if (!ok) failed++;
          }
        }));
        send({ type: 'connected', n: m.agents.length - failed, failed });
      })();
    } else if (m.type === 'watch') {
      if (target) {
        const times = [...got.values()];
        send({ type: 'got', id: target, times, missing: sockets.length - got.size, gaps });
      }
      target = m.id || undefined;
      got = new Map();
      gaps = 0;
    } else {
      for (const ws of sockets) ws?.terminate();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Certificates: one RSA key for every simulated node (key generation for 5,000 nodes would take
// minutes), each with its own node-<uuid> certificate signed by the cluster CA.
async function nodeCerts(caCertPem: string, caKeyPem: string, n: number): Promise<SimAgent[]> {
  x509.cryptoProvider.set(crypto as unknown as Crypto);
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const caCert = new x509.X509Certificate(caCertPem);
  const der = Buffer.from(caKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  const signingKey = await crypto.subtle.importKey('pkcs8', der, alg, false, ['sign']);
  const keys = await crypto.subtle.generateKey({ ...alg, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['sign', 'verify']);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  const ou = caCert.subjectName.getField('OU')[0]!;
  // Signing runs on libuv's thread pool: keep a few in flight.
  const out: SimAgent[] = new Array<SimAgent>(n);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < n) {
      const i = next++;
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (i + 1000).toString(16).padStart(8, '0'),
        subject: [{ CN: [`node-${randomUUID()}`] }, { OU: [ou] }],
        issuer: caCert.subjectName,
        notBefore: new Date(Date.now() - 3600_000),
        notAfter: new Date(Date.now() + 24 * 3600_000),
        publicKey: keys.publicKey,
        signingKey,
      }, crypto as unknown as Crypto);
      out[i] = { cert: cert.toString('pem'), key: keyPem };
    }
  }));
  return out;
}

// ---------------------------------------------------------------------------------------------
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const ms = (x: number): string => `${x.toFixed(0)} ms`;

interface Control { child: ChildProcess; apiPort: number; agentPort: number; metricsPort: number; stop(): Promise<void> }

async function startControl(dir: string, certsDir: string, profDir: string | undefined): Promise<Control> {
  const root = process.env.BENCH_CONTROL_ROOT ?? ROOT;
  const metricsPort = await freePort();
  const dataDir = join(dir, 'data');
  const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(root, 'src/main.ts'), 'control', '--data-dir', dataDir, '--certificates-dir', certsDir,
    '--api-port', '0', '--agent-port', '0', '--listen', '127.0.0.1', ...(root === ROOT ? ['--metrics-listen', String(metricsPort)] : [])],
  { cwd: root, env: { ...process.env, FLOCKER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const info = join(dataDir, 'control.json');
  // Minutes, not seconds: on a loaded machine tsx alone can take tens of seconds.
  const deadline = Date.now() + 180_000;
  while (!existsSync(info)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('control did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const j = JSON.parse(readFileSync(info, 'utf8')) as { api_port: number; agent_port: number };
  return {
    child, apiPort: j.api_port, agentPort: j.agent_port, metricsPort,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function api(agent: HttpsAgent, port: number, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, servername: 'control-service', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function scrape(port: number): Promise<string | undefined> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return undefined;
  }
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Top functions by self time in a .cpuprofile. */
function summariseProfile(file: string, top = 15): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let sum = 0;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const dt = prof.timeDeltas[i] ?? 0;
    sum += dt;
    const url = n.callFrame.url.replace(/^.*\/(node_modules\/[^/]+|src)\//, '$1/');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, us]) => `    ${((100 * us) / sum).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}

async function runSize(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-bench-push-'));
  const profDir = process.env.BENCH_CPU_PROF ? join(process.env.BENCH_CPU_PROF, `agents-${n}`) : undefined;
  const workers: ChildProcess[] = [];
  let control: Control | undefined;
  try {
    const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
    let t = performance.now();
    const agents = await nodeCerts(readFileSync(certs.caCert, 'utf8'), readFileSync(certs.caKey, 'utf8'), n);
    const certSecs = (performance.now() - t) / 1000;
    control = await startControl(dir, certs.dir, profDir);
    const user = certs.users['user']!;
    const https = new HttpsAgent({ ca: readFileSync(certs.caCert), cert: readFileSync(user.cert), key: readFileSync(user.key), keepAlive: true });
    const ca = readFileSync(certs.caCert, 'utf8');
    const url = `wss://127.0.0.1:${control.agentPort}/v1/agent`;

    const k = n <= 200 ? 1 : 2;
    const inbox: FromWorker[] = [];
    let wake: (() => void) | undefined;
    for (let w = 0; w < k; w++) {
      const child = spawn(process.execPath, ['--import', 'tsx', SELF, 'worker'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (m: FromWorker) => { inbox.push(m); wake?.(); });
      workers.push(child);
    }
    const collect = async (kind: FromWorker['type'], count: number, timeoutMs: number): Promise<FromWorker[]> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mine = inbox.filter((m) => m.type === kind);
        if (mine.length >= count) {
          for (const m of mine) inbox.splice(inbox.indexOf(m), 1);
          return mine;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} ${kind} from the client processes`);
        await new Promise<void>((r) => { wake = r; setTimeout(r, 200); });
      }
    };
    t = performance.now();
    workers.forEach((w, i) => w.send({ type: 'connect', url, ca, agents: agents.filter((_, j) => j % k === i) } satisfies ToWorker));
    const connected = await collect('connected', k, 15 * 60_000);
    const up = connected.reduce((a, m) => a + (m.type === 'connected' ? m.n : 0), 0);
    const connectSecs = (performance.now() - t) / 1000;
    // Let the connection storm's pushes drain before measuring.
    await new Promise((r) => setTimeout(r, 2000));
    const rssIdle = rssOf(control.child.pid!);
    console.log(`${n} agents: certificates ${certSecs.toFixed(1)} s; ${up} connected in ${connectSecs.toFixed(1)} s (each got its first push); control RSS ${rssIdle.toFixed(0)} MiB`);

    const before = control.metricsPort ? await scrape(control.metricsPort) : undefined;
    const worst: number[] = [];
    const p50s: number[] = [];
    const missedBy = new Array<number>(ROUNDS).fill(0);
    let totalGaps = 0;
    const primary = randomUUID();
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.timeOrigin + performance.now();
      const id = randomUUID();
      for (const w of workers) w.send({ type: 'watch', id } satisfies ToWorker);
      const r = await api(https, control.apiPort, 'POST', '/v1/configuration/datasets', { primary, dataset_id: id, maximum_size: 67108864 });
      if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
      // Everyone has it, or 10 s have passed.
      await new Promise((res) => setTimeout(res, Math.min(10_000, 500 + n)));
      for (const w of workers) w.send({ type: 'watch', id: '' } satisfies ToWorker);
      const got = await collect('got', k, 60_000);
      const times = got.flatMap((m) => (m.type === 'got' ? m.times.map((x) => x - t0) : []));
      const missing = got.reduce((a, m) => a + (m.type === 'got' ? m.missing : 0), 0);
      totalGaps += got.reduce((a, m) => a + (m.type === 'got' ? m.gaps : 0), 0);
      missedBy[round] = missing;
      worst.push(Math.max(...times));
      p50s.push(pct(times, 50));
      console.log(`  round ${round + 1}: ${times.length}/${up} agents had the change; p50 ${ms(pct(times, 50))}, max ${ms(Math.max(...times))}${missing ? `; ${missing} missed it` : ''}`);
    }
    const rss = rssOf(control.child.pid!);
    const missedAny = missedBy.reduce((a, b) => a + b, 0);
    console.log(`  ${n} agents, ${ROUNDS} changes: push p50 ${ms(pct(p50s, 50))}, max ${ms(Math.max(...worst))}; agents that got every change: ${missedAny === 0 ? `all ${up}` : `at most ${up - Math.max(...missedBy)} (${missedAny} misses in all)`}; gaps resynced: ${totalGaps}; control RSS ${rss.toFixed(0)} MiB`);
    const after = control.metricsPort ? await scrape(control.metricsPort) : undefined;
    if (before && after) {
      const b = parseExposition(before);
      const a = parseExposition(after);
      const d = (name: string, labels: Record<string, string>): number => total(a, name, labels) - total(b, name, labels);
      const deltas = d('flocker_control_config_pushes_total', { kind: 'delta' });
      const snaps = d('flocker_control_config_pushes_total', { kind: 'snapshot' });
      const bytes = d('flocker_control_config_push_bytes_total', { kind: 'delta' }) + d('flocker_control_config_push_bytes_total', { kind: 'snapshot' });
      console.log(`  over the wire during the rounds: ${deltas} deltas, ${snaps} snapshots, ${(bytes / 1024).toFixed(0)} KiB in all (${(bytes / Math.max(1, deltas + snaps)).toFixed(0)} bytes per message)`);
      // Control's own view, without the API call and its commit: announce → written to every socket.
      const pushes = d('flocker_control_config_push_duration_seconds_count', {});
      const secs = d('flocker_control_config_push_duration_seconds_sum', {});
      if (pushes > 0) console.log(`  control's push time (flocker_control_config_push_duration_seconds): ${pushes} pushes, mean ${ms((1000 * secs) / pushes)}`);
    }
    https.destroy();
  } finally {
    for (const w of workers) if (w.connected) w.send({ type: 'stop' } satisfies ToWorker);
    await Promise.all(workers.map((w) => (w.exitCode !== null ? undefined : new Promise((r) => { w.once('exit', r); setTimeout(() => { w.kill('SIGKILL'); r(undefined); }, 10_000); }))));
    await control?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (profDir && existsSync(profDir)) {
    const f = readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile')).map((x) => join(profDir, x))[0];
    if (f) {
      console.log(`  control CPU profile (${f}), top functions by self time:`);
      for (const line of summariseProfile(f)) console.log(line);
    }
  }
}

if (process.argv[2] === 'worker') {
  await worker();
} else {
  for (const n of SIZES) await runSize(n);
}
