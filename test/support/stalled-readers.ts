// A real control process, /v1/events readers that stop reading, and a burst of creates: for the
// bounded-memory test (test/control/stalled-readers) and its figures (test/bench/stalled-readers).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { makeCerts, type TestCerts } from './certs.js';
import { startControl, type ControlProcess } from '../control/process-harness.js';

export interface StalledRun {
  /** Control's resident set before the creates, after them, and after the readers closed. */
  readonly rssBeforeMb: number;
  readonly rssPeakMb: number;
  readonly rssAfterCloseMb: number;
  /** Readers the control service dropped for falling too far behind. */
  readonly dropped: number;
  readonly created: number;
  readonly seconds: number;
  readonly stderr: string;
}

/** VmRSS of a process, in MB (from /proc). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** A /v1/events reader that reads nothing after the request: its socket is paused at once. */
function stalledReader(port: number, certs: TestCerts): Promise<{ socket: TLSSocket; closed: Promise<void> }> {
  const u = certs.users['user']!;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1', port, servername: 'control-service',
      ca: readFileSync(certs.caCert), cert: readFileSync(u.cert), key: readFileSync(u.key),
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('secureConnect', () => {
      socket.write('GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
      socket.pause();
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

/** Metadata of about `bytes`: values of at most 256 characters, at most 16 keys (the API's limits). */
function bulkyMetadata(i: number, bytes: number): Record<string, string> {
  const m: Record<string, string> = { name: `vol-${i}` };
  for (let k = 0; k < Math.min(15, Math.ceil(bytes / 256)); k++) m[`k${k}`] = String(i).padEnd(256, 'x');
  return m;
}

export async function runStalledReaders(o: { readers: number; datasets: number; metadataBytes: number }): Promise<StalledRun> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-stalled-'));
  let control: ControlProcess | undefined;
  const readers: { socket: TLSSocket; closed: Promise<void> }[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
    control = await startControl(join(dir, 'data'), certs.dir, { FLOCKER_LOG_LEVEL: 'warn' });
    const pid = control.child.pid!;
    const port = control.apiPort;
    const node = certs.nodes[0]!.uuid;
    for (let i = 0; i < o.readers; i++) readers.push(await stalledReader(port, certs));
    const u = certs.users['user']!;
    const tls = { ca: readFileSync(certs.caCert), cert: readFileSync(u.cert), key: readFileSync(u.key), servername: 'control-service' };
    const create = (i: number): Promise<number> => new Promise((resolve, reject) => {
      const body = JSON.stringify({ primary: node, metadata: bulkyMetadata(i, o.metadataBytes) });
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/configuration/datasets', agent, ...tls,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    const rssBeforeMb = rssMb(pid);
    let rssPeakMb = rssBeforeMb;
    let created = 0;
    const started = performance.now();
    // One at a time: every create is its own change, so every change is one more event for each reader.
    for (let i = 0; i < o.datasets; i++) {
      if ((await create(i)) === 201) created += 1;
      if (i % 20 === 0) rssPeakMb = Math.max(rssPeakMb, rssMb(pid));
    }
    rssPeakMb = Math.max(rssPeakMb, rssMb(pid));
    const seconds = (performance.now() - started) / 1000;
    for (const r of readers) r.socket.destroy();
    await Promise.all(readers.map((r) => r.closed));
    // A request after the closes: the service has seen them by the time it answers.
    await create(o.datasets);
    const rssAfterCloseMb = rssMb(pid);
    const stderr = control.stderr();
    const dropped = stderr.split('\n').filter((l) => l.includes('reader too far behind')).length;
    return { rssBeforeMb, rssPeakMb, rssAfterCloseMb, dropped, created, seconds, stderr };
  } finally {
    agent.destroy();
    for (const r of readers) r.socket.destroy();
    if (control) await control.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
