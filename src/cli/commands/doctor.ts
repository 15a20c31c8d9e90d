// `flocker doctor` (hidden): proves, inside whatever binary runs it, the runtime pieces a single
// executable can lose — the SQLite wasm, mutual TLS, the Ink/yoga renderer, and the native FFI
// addon behind mount(2) and the loop ioctls. One line per
// check; non-zero exit when any fails. Every heavy module is imported lazily, per check.
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseCommand } from '../base-command.js';
import { errorMessage } from '../../errors.js';
import { loadDashboard } from '../../ui/load.js';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

async function checkSqlite(dir: string): Promise<string> {
  const { default: sqlite3 } = await import('node-sqlite3-wasm');
  const file = join(dir, 'doctor.sqlite');
  const db = new sqlite3.Database(file);
  try {
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) STRICT');
    db.run('INSERT INTO t VALUES (?, ?)', ['answer', 42]);
    const row = db.get('SELECT v FROM t WHERE k = ?', ['answer']) as { v: number } | null;
    if (row?.v !== 42) throw new Error(`read back ${JSON.stringify(row)}`);
    const version = db.get('SELECT sqlite_version() AS v') as { v: string } | null;
    return `SQLite ${version?.v ?? '?'} file ${file}`;
  } finally {
    db.close();
  }
}

interface Pem { readonly cert: string; readonly key: string }

/** A throwaway CA with one server and one client certificate (EC P-256: fast to make). */
async function throwawayCerts(): Promise<{ ca: Pem; server: Pem; client: Pem }> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const webcrypto = globalThis.crypto;
  x509.cryptoProvider.set(webcrypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 3600_000);
  const pemKey = async (k: CryptoKey): Promise<string> =>
    x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k), 'PRIVATE KEY');

  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'CN=flocker-doctor-ca', notBefore, notAfter, keys: caKeys, signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = async (serial: string, cn: string, usage: string, san: boolean): Promise<Pem> => {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial, subject: `CN=${cn}`, issuer: caCert.subject, notBefore, notAfter,
      publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: alg,
      extensions: [
        new x509.ExtendedKeyUsageExtension([usage]),
        ...(san ? [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])] : []),
      ],
    });
    return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
  };
  return {
    ca: { cert: caCert.toString('pem'), key: await pemKey(caKeys.privateKey) },
    server: await leaf('02', 'control-service', x509.ExtendedKeyUsage.serverAuth, true),
    client: await leaf('03', 'user-doctor', x509.ExtendedKeyUsage.clientAuth, false),
  };
}

async function checkMutualTls(): Promise<string> {
  const certs = await throwawayCerts();
  const https = await import('node:https');
  const server = https.createServer(
    { ca: certs.ca.cert, cert: certs.server.cert, key: certs.server.key, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.end(JSON.stringify({ peer: peer.subject?.CN }));
    },
  );
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  try {
    const port = (server.address() as import('node:net').AddressInfo).port;
    const body = await new Promise<string>((ok, fail) => {
      const req = https.request({
        host: '127.0.0.1', port, path: '/', ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, agent: false,
      }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => ok(text)).on('error', fail);
      });
      req.setTimeout(5000, () => req.destroy(new Error('timed out')));
      req.on('error', fail).end();
    });
    const peer = (JSON.parse(body) as { peer?: string }).peer;
    if (peer !== 'user-doctor') throw new Error(`server saw client ${JSON.stringify(peer)}`);
    return `https://127.0.0.1:${port} saw client certificate CN=${peer}`;
  } finally {
    server.close();
  }
}

async function checkInk(stdout: NodeJS.WriteStream): Promise<string> {
  const frame = (await loadDashboard(stdout)).renderCheckFrame('flocker doctor', 40);
  if (!frame.includes('flocker doctor') || !frame.includes('╭')) throw new Error(`unexpected frame: ${JSON.stringify(frame)}`);
  return `rendered a ${frame.split('\n').length}-line frame (yoga layout)`;
}

/** `cluster up` starts every role as this same program: check that re-running ourselves works. */
async function checkSelfSpawn(): Promise<string> {
  const [{ selfCommand }, { execFile }, { VERSION }] = await Promise.all([
    import('../../roles/cluster/children.js'), import('node:child_process'), import('../../version.js'),
  ]);
  const { command, prefix } = selfCommand();
  const out = await new Promise<string>((ok, fail) => {
    execFile(command, [...prefix, '--version'], { timeout: 20_000 }, (err, stdout) => (err ? fail(err) : ok(stdout)));
  });
  if (out.trim() !== VERSION) throw new Error(`${command} --version printed ${JSON.stringify(out.trim())}, expected ${VERSION}`);
  return `${[command, ...prefix].join(' ')} --version → ${VERSION}`;
}

/** A bind mount and a loop device through the system calls (as root; otherwise one refused call). */
async function checkSyscalls(dir: string): Promise<string> {
  const [{ mount, mountAt, umount }, { attachLoop, backingFileOf, detachLoop }, { SyscallError }] = await Promise.all([
    import('../../sys/mounts.js'), import('../../sys/losetup.js'), import('../../sys/libc.js'),
  ]);
  const target = join(dir, 'target');
  mkdirSync(target);
  if (process.getuid?.() !== 0) {
    const e = await umount(target).catch((x: unknown) => x);
    if (!(e instanceof SyscallError)) throw new Error(`umount as uid ${process.getuid?.()}: expected EPERM, got ${String(e)}`);
    return `not root: umount refused as expected (${e.code})`;
  }
  await mount(dir, target, { bind: true });
  try {
    if ((await mountAt(target))?.root !== dir) throw new Error(`bind mount of ${dir} not found at ${target} in mountinfo`);
  } finally {
    await umount(target);
  }
  const image = join(dir, 'loop.img');
  writeFileSync(image, '');
  truncateSync(image, 1 << 20);
  const device = await attachLoop(image);
  try {
    const backing = await backingFileOf(device);
    if (backing !== image) throw new Error(`${device} is backed by ${backing ?? 'nothing'}, not ${image}`);
  } finally {
    await detachLoop(device);
  }
  return `bind mount and unmount; ${device} attached and detached`;
}

async function runChecks(stdout: NodeJS.WriteStream): Promise<CheckResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-doctor-'));
  const checks: [string, () => Promise<string>][] = [
    ['sqlite', () => checkSqlite(dir)],
    ['mutual-tls', checkMutualTls],
    ['ink', () => checkInk(stdout)],
    ['self-spawn', checkSelfSpawn],
    ['syscalls', () => checkSyscalls(dir)],
  ];
  const results: CheckResult[] = [];
  try {
    for (const [name, fn] of checks) {
      const started = performance.now();
      try {
        results.push({ name, ok: true, detail: await fn(), ms: performance.now() - started });
      } catch (e) {
        const detail = errorMessage(e).split('\n')[0] ?? '';
        results.push({ name, ok: false, detail, ms: performance.now() - started });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

export class DoctorCommand extends BaseCommand {
  static override paths = [['doctor']];
  // No usage on purpose: clipanion leaves undocumented commands out of `flocker --help`.
  // What it does: check that this binary can open SQLite, serve mutual TLS and render the dashboard.

  async run(): Promise<number> {
    const results = await runChecks(this.context.stdout as NodeJS.WriteStream);
    for (const r of results) {
      this.context.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(10)} ${r.detail} (${Math.round(r.ms)} ms)\n`);
    }
    const failed = results.filter((r) => !r.ok).length;
    this.context.stdout.write(failed === 0 ? 'doctor: all checks passed\n' : `doctor: ${failed} check(s) failed\n`);
    return failed === 0 ? 0 : 1;
  }
}
