// The cluster certificate authority (`flocker ca ...`), with the same certificate contents as the
// original flocker-ca: the cluster UUID is the OU of every subject, node and user identities are
// the CN prefixes `node-` and `user-`. Signing uses Node's webcrypto (native RSA; pure-JS RSA
// would take seconds per 4096-bit key).
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it before it loads
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { closeSync, constants, existsSync, fchmodSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { fsReason } from '../read-text.js';
import { isUuid } from '../model/ids.js';
import { CONTROL_COMMON_NAME } from './identity.js';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export const CA_CERT_FILE = 'cluster.crt';
const CA_KEY_FILE = 'cluster.key';
const NODE_PREFIX = 'node-';
const USER_PREFIX = 'user-';

/** As the original: every key is RSA 4096. Tests pass smaller keys for speed. */
const DEFAULT_KEY_BITS = 4096;
const VALIDITY_MS = 20 * 365.25 * 24 * 3600 * 1000;
const SIGNING: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
/** X.520 upper bound for a CN; OpenSSL refuses longer ones. */
const MAX_CN = 64;

export interface KeyOptions {
  /** RSA modulus length; default 4096. */
  readonly keyBits?: number;
}

/** A loaded CA, able to sign. */
export interface Authority {
  readonly name: string;
  readonly clusterUuid: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly cert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
}

/** A freshly issued leaf: PEM text of the certificate and its private key. */
export interface Issued {
  readonly commonName: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WrittenFiles {
  readonly cert: string;
  readonly key: string;
}

async function generateKeys(keyBits = DEFAULT_KEY_BITS): Promise<{ keys: CryptoKeyPair; keyPem: string }> {
  const keys = (await crypto.subtle.generateKey(
    { ...SIGNING, modulusLength: keyBits, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** 16 random bytes with the top bit clear (a positive DER INTEGER) and never a leading zero byte. */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now), notAfter: new Date(now + VALIDITY_MS) };
}

function checkCommonName(cn: string, what: string): void {
  if (cn.length > MAX_CN) throw new UserError(`${what} is too long: the certificate name ${JSON.stringify(cn)} must be at most ${MAX_CN} characters`);
}

/** A CA for a new cluster: CN = cluster name, OU = a new random cluster UUID. */
export async function createAuthority(name: string, opts: KeyOptions = {}): Promise<Authority> {
  if (name.trim() === '') throw new UserError('the cluster name must not be empty');
  checkCommonName(name, 'the cluster name');
  const clusterUuid = randomUUID();
  const { keys, keyPem } = await generateKeys(opts.keyBits);
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [name] }, { OU: [clusterUuid] }],
      ...validity(),
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        ski,
        new x509.AuthorityKeyIdentifierExtension(ski.keyId),
      ],
    },
    crypto,
  );
  return { name, clusterUuid, certPem: cert.toString('pem'), keyPem, cert, signingKey: keys.privateKey };
}

/** Parse a CA from PEM text; `source` names where it came from in error messages. */
async function authorityFromPem(certPem: string, keyPem: string, source = 'the certificate authority'): Promise<Authority> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch {
    throw new UserError(`${source}: the certificate is not a PEM X.509 certificate`);
  }
  let pkcs8: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    if (createPublicKey(key).export({ type: 'spki', format: 'der' }).compare(createPublicKey(certPem).export({ type: 'spki', format: 'der' })) !== 0) {
      throw new UserError(`${source}: the private key does not belong to the certificate`);
    }
    pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${source}: the private key is not a PEM RSA private key`);
  }
  const signingKey = await crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), SIGNING, false, ['sign']);
  const name = cert.subjectName.getField('CN')[0] ?? '';
  const clusterUuid = cert.subjectName.getField('OU')[0];
  if (!clusterUuid) throw new UserError(`${source}: the certificate has no cluster UUID (subject OU); is it a Flocker cluster CA?`);
  return { name, clusterUuid, certPem, keyPem, cert, signingKey };
}

/** Read cluster.crt and cluster.key from `dir`. */
export async function loadAuthority(dir: string): Promise<Authority> {
  const certPath = resolve(dir, CA_CERT_FILE);
  const keyPath = resolve(dir, CA_KEY_FILE);
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      throw new UserError(
        `Unable to load certificate authority file ${path} (${fsReason(e)}). Run \`flocker ca initialize CLUSTER_NAME\` first, or point --inputpath at the folder holding ${CA_CERT_FILE} and ${CA_KEY_FILE}.`,
      );
    }
  };
  return authorityFromPem(read(certPath), read(keyPath), certPath);
}

async function issue(
  ca: Authority,
  commonName: string,
  extensions: x509.Extension[],
  opts: KeyOptions,
): Promise<Issued> {
  checkCommonName(commonName, 'the name');
  const { keys, keyPem } = await generateKeys(opts.keyBits);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: [{ CN: [commonName] }, { OU: [ca.clusterUuid] }],
      issuer: ca.cert.subjectName,
      ...validity(),
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      extensions,
    },
    crypto,
  );
  return { commonName, certPem: cert.toString('pem'), keyPem };
}

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/** The control service: CN control-service, SAN DNS:control-service plus the hostname or IP. */
export async function issueControlCertificate(ca: Authority, hostname: string, opts: KeyOptions = {}): Promise<Issued> {
  const ip = isIP(hostname) !== 0;
  if (!ip && !HOSTNAME_RE.test(hostname)) {
    throw new UserError(`${JSON.stringify(hostname)} is neither a hostname nor an IP address`);
  }
  const san = new x509.SubjectAlternativeNameExtension([
    { type: 'dns', value: CONTROL_COMMON_NAME },
    ip ? { type: 'ip', value: hostname } : { type: 'dns', value: hostname },
  ]);
  return issue(ca, CONTROL_COMMON_NAME, [san], opts);
}

/** A node: CN node-<uuid>; a new random UUID unless one is given. */
export async function issueNodeCertificate(
  ca: Authority,
  opts: KeyOptions & { readonly uuid?: string } = {},
): Promise<Issued & { uuid: string }> {
  const uuid = (opts.uuid ?? randomUUID()).toLowerCase();
  if (!isUuid(uuid)) {
    throw new UserError(`${JSON.stringify(opts.uuid)} is not a UUID`);
  }
  return { ...(await issue(ca, `${NODE_PREFIX}${uuid}`, [], opts)), uuid };
}

/** Usernames become file names (`NAME.crt`), so they may not contain path characters. */
const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/** An API user: CN user-<name>, extendedKeyUsage clientAuth only. */
export async function issueUserCertificate(ca: Authority, username: string, opts: KeyOptions = {}): Promise<Issued> {
  if (!USERNAME_RE.test(username)) {
    throw new UserError(
      `${JSON.stringify(username)} is not a usable user name: use letters, digits, '.', '_', '@' and '-', starting with a letter or digit`,
    );
  }
  const eku = new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]);
  return issue(ca, `${USER_PREFIX}${username}`, [eku], opts);
}

function alreadyExists(path: string): UserError {
  return new UserError(`${path} already exists; refusing to overwrite it (move it away first)`);
}

/** Refuse before writing anything when either file of the pair exists. */
function refuseExisting(files: WrittenFiles): void {
  for (const f of [files.key, files.cert]) if (existsSync(f)) throw alreadyExists(f);
}

/** Create `path` exclusively with mode 0600 (whatever the umask). */
function writeExclusive(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw alreadyExists(path);
    if (code === 'ENOENT') throw new UserError(`cannot create ${path}: the folder does not exist`);
    if (code === 'EACCES') throw new UserError(`cannot create ${path}: permission denied`);
    throw new UserError(`cannot create ${path}: ${code ?? String(e)}`);
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write BASENAME.crt and BASENAME.key into `dir`, never overwriting: if either exists nothing
 * is written. Both files are mode 0600, as the original.
 */
export function writeIssued(dir: string, basename: string, issued: { certPem: string; keyPem: string }): WrittenFiles {
  const files = { cert: resolve(join(dir, `${basename}.crt`)), key: resolve(join(dir, `${basename}.key`)) };
  refuseExisting(files);
  writeExclusive(files.key, issued.keyPem);
  try {
    writeExclusive(files.cert, issued.certPem);
  } catch (e) {
    unlinkSync(files.key); // don't leave a key without its certificate
    throw e;
  }
  return files;
}

/** `flocker ca initialize`: a new CA written as cluster.crt/cluster.key in `dir`. */
export async function initializeAuthority(dir: string, name: string, opts: KeyOptions = {}): Promise<{ authority: Authority; files: WrittenFiles }> {
  const files = { cert: resolve(dir, CA_CERT_FILE), key: resolve(dir, CA_KEY_FILE) };
  // Check before the (slow) key generation, so a mistake costs nothing.
  refuseExisting(files);
  const authority = await createAuthority(name, opts);
  return { authority, files: writeIssued(dir, 'cluster', authority) };
}
