// `flocker ca ...` through the real CLI entry point, real keys and real files.
import 'reflect-metadata'; // before @peculiar/x509, as src/tls/ca.ts does
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as x509 from '@peculiar/x509';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/main.js';
import { isUuidV4 } from '../../src/model/ids.js';
import { readNodeUuid } from '../../src/tls/identity.js';
import '../../src/tls/ca.js'; // installs the webcrypto provider for @peculiar/x509

interface Run { code: number; out: string; err: string }

async function flocker(...argv: string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, { stdin: process.stdin, stdout: stdout as unknown as NodeJS.WriteStream, stderr: stderr as unknown as NodeJS.WriteStream, env: {}, colorDepth: 1 });
  return { code, out, err };
}

const FAST = ['--key-bits', '2048'];
let dir: string;
let ca: X509Certificate;
let clusterUuid: string;

const cert = (name: string): X509Certificate => new X509Certificate(readFileSync(join(dir, name)));
const mode = (name: string): number => statSync(join(dir, name)).mode & 0o777;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-ca-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('initialize writes a CA: CN = name, OU = new cluster UUID, CA:TRUE pathlen 0, keyCertSign+cRLSign, 0600', async () => {
  const r = await flocker('ca', 'initialize', 'prod cluster', '-o', dir, ...FAST);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Created .*cluster\.key and .*cluster\.crt/);
  assert.is(mode('cluster.key'), 0o600);
  assert.is(mode('cluster.crt'), 0o600);
  ca = cert('cluster.crt');
  const [cn, ou] = ca.subject.split('\n');
  assert.is(cn, 'CN=prod cluster');
  clusterUuid = ou!.replace(/^OU=/, '');
  assert.ok(isUuidV4(clusterUuid), clusterUuid);
  assert.match(r.out, clusterUuid);
  assert.ok(ca.ca);
  assert.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey));
  const p = new x509.X509Certificate(readFileSync(join(dir, 'cluster.crt'), 'utf8'));
  const bc = p.getExtension(x509.BasicConstraintsExtension)!;
  assert.ok(bc.critical && bc.ca);
  assert.is(bc.pathLength, 0);
  const ku = p.getExtension(x509.KeyUsagesExtension)!;
  assert.ok(ku.critical);
  assert.is(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.ok(p.getExtension(x509.SubjectKeyIdentifierExtension));
  assert.ok(p.getExtension(x509.AuthorityKeyIdentifierExtension));
  const years = (p.notAfter.getTime() - p.notBefore.getTime()) / (365.25 * 86400e3);
  assert.ok(Math.abs(years - 20) < 0.01, `${years} years`);
  assert.is(p.serialNumber.length, 32); // 128 bits
});

test('initialize never overwrites: clear error naming the file, file unchanged', async () => {
  const before = readFileSync(join(dir, 'cluster.key'), 'utf8');
  const r = await flocker('ca', 'initialize', 'again', '-o', dir, ...FAST);
  assert.is(r.code, 1);
  assert.is(r.err.split('\n').filter(Boolean).length, 1, r.err);
  assert.match(r.err, `${join(dir, 'cluster.key')} already exists`);
  assert.is(readFileSync(join(dir, 'cluster.key'), 'utf8'), before);
});

test('control certificate: CN control-service, SAN control-service + hostname, or IP', async () => {
  let r = await flocker('ca', 'create-control-certificate', 'control.example.com', '-i', dir, '-o', dir, ...FAST);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /control-control\.example\.com\.crt/);
  let c = cert('control-control.example.com.crt');
  assert.is(c.subject, `CN=control-service\nOU=${clusterUuid}`);
  assert.is(c.subjectAltName, 'DNS:control-service, DNS:control.example.com');
  assert.ok(c.checkIssued(ca) && c.verify(ca.publicKey));
  assert.is(mode('control-control.example.com.key'), 0o600);
  r = await flocker('ca', 'create-control-certificate', '10.0.0.5', '-i', dir, '-o', dir, ...FAST);
  assert.is(r.code, 0, r.err);
  c = cert('control-10.0.0.5.crt');
  assert.is(c.subjectAltName, 'DNS:control-service, IP Address:10.0.0.5');
});

test('control certificate refuses a hostname that is not one', async () => {
  const r = await flocker('ca', 'create-control-certificate', 'bad host/name', '-i', dir, '-o', dir, ...FAST);
  assert.is(r.code, 1);
  assert.match(r.err, /neither a hostname nor an IP address/);
});

test('node certificate: UUID.crt with CN node-UUID, OU cluster, no extensions; readNodeUuid reads it', async () => {
  const before = new Set(readdirSync(dir));
  const r = await flocker('ca', 'create-node-certificate', '-i', dir, '-o', dir, ...FAST);
  assert.is(r.code, 0, r.err);
  const added = readdirSync(dir).filter((f) => !before.has(f)).sort();
  assert.is(added.length, 2, added.join());
  const uuid = added[0]!.replace(/\.crt$/, '');
  assert.ok(isUuidV4(uuid), uuid);
  assert.equal(added, [`${uuid}.crt`, `${uuid}.key`]);
  assert.match(r.out, uuid);
  const c = cert(`${uuid}.crt`);
  assert.is(c.subject, `CN=node-${uuid}\nOU=${clusterUuid}`);
  assert.is(c.subjectAltName, undefined);
  assert.is(c.keyUsage, undefined);
  assert.ok(c.verify(ca.publicKey));
  assert.is(mode(`${uuid}.key`), 0o600);
  assert.is(readNodeUuid(join(dir, `${uuid}.crt`)), uuid);
});

test('API certificate: CN user-NAME, extendedKeyUsage clientAuth only; never overwritten', async () => {
  const r = await flocker('ca', 'create-api-certificate', 'alice', '-i', dir, '-o', dir, ...FAST);
  assert.is(r.code, 0, r.err);
  const c = cert('alice.crt');
  assert.is(c.subject, `CN=user-alice\nOU=${clusterUuid}`);
  assert.equal(c.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.ok(c.verify(ca.publicKey));
  assert.is(mode('alice.key'), 0o600);
  const key = readFileSync(join(dir, 'alice.key'), 'utf8');
  const again = await flocker('ca', 'create-api-certificate', 'alice', '-i', dir, '-o', dir, ...FAST);
  assert.is(again.code, 1);
  assert.match(again.err, /alice\.key already exists; refusing to overwrite/);
  assert.is(readFileSync(join(dir, 'alice.key'), 'utf8'), key);
});

test('API certificate refuses a user name that would escape the folder', async () => {
  const r = await flocker('ca', 'create-api-certificate', '../evil', '-i', dir, '-o', dir, ...FAST);
  assert.is(r.code, 1);
  assert.match(r.err, /not a usable user name/);
  assert.not.ok(existsSync(join(dir, '..', 'evil.crt')));
});

test('works in the current directory by default', async () => {
  const sub = join(dir, 'cwd');
  mkdirSync(sub);
  const old = process.cwd();
  process.chdir(sub);
  try {
    assert.is((await flocker('ca', 'initialize', 'here', ...FAST)).code, 0);
    const r = await flocker('ca', 'create-api-certificate', 'bob', ...FAST);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /^Created bob\.crt and bob\.key/);
  } finally {
    process.chdir(old);
  }
  assert.equal(readdirSync(sub).sort(), ['bob.crt', 'bob.key', 'cluster.crt', 'cluster.key']);
});

test('a missing CA is one line naming the file and `flocker ca initialize`', async () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  for (const cmd of [['create-node-certificate'], ['create-api-certificate', 'x'], ['create-control-certificate', 'h']]) {
    const r = await flocker('ca', ...cmd, '-i', empty, '-o', empty, ...FAST);
    assert.is(r.code, 1);
    assert.is(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, `Unable to load certificate authority file ${join(empty, 'cluster.crt')}`);
    assert.match(r.err, '`flocker ca initialize');
  }
  assert.equal(readdirSync(empty), []);
});

test('a CA key that does not match the certificate is refused', async () => {
  const other = join(dir, 'other');
  mkdirSync(other);
  assert.is((await flocker('ca', 'initialize', 'other', '-o', other, ...FAST)).code, 0);
  const mixed = join(dir, 'mixed');
  mkdirSync(mixed);
  const { copyFileSync } = await import('node:fs');
  copyFileSync(join(dir, 'cluster.crt'), join(mixed, 'cluster.crt'));
  copyFileSync(join(other, 'cluster.key'), join(mixed, 'cluster.key'));
  const r = await flocker('ca', 'create-node-certificate', '-i', mixed, '-o', mixed, ...FAST);
  assert.is(r.code, 1);
  assert.match(r.err, /private key does not belong to the certificate/);
});

test('--help explains and gives examples', async () => {
  for (const cmd of ['initialize', 'create-control-certificate', 'create-node-certificate', 'create-api-certificate']) {
    const r = await flocker('ca', cmd, '--help');
    assert.is(r.code, 0);
    assert.match(r.out, /Examples/);
    assert.match(r.out, /--outputpath/);
  }
});

test('as a real process: exit status 1 and one line on stderr for a missing CA, 0 and files on success', () => {
  const empty = mkdtempSync(join(tmpdir(), 'flocker-ca-proc-'));
  try {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/main.ts'), ...args], { encoding: 'utf8', cwd: process.cwd() });
    const bad = run('ca', 'create-node-certificate', '-i', empty, '-o', empty);
    assert.is(bad.status, 1);
    assert.is(bad.stdout, '');
    assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^flocker: Unable to load certificate authority file /);
    const good = run('ca', 'initialize', 'proc', '-o', empty, ...FAST);
    assert.is(good.status, 0, good.stderr);
    assert.equal(readdirSync(empty).sort(), ['cluster.crt', 'cluster.key']);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('keys are RSA 4096 by default, as the original', async () => {
  const sub = join(dir, 'default');
  mkdirSync(sub);
  const { copyFileSync } = await import('node:fs');
  copyFileSync(join(dir, 'cluster.crt'), join(sub, 'cluster.crt'));
  copyFileSync(join(dir, 'cluster.key'), join(sub, 'cluster.key'));
  const r = await flocker('ca', 'create-api-certificate', 'big', '-i', sub, '-o', sub);
  assert.is(r.code, 0, r.err);
  const c = new X509Certificate(readFileSync(join(sub, 'big.crt')));
  assert.is(c.publicKey.asymmetricKeyDetails?.modulusLength, 4096);
});

test.run();
