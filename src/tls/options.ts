// TLS settings for both ends of Flocker's mutual TLS (flocker-api.md §2.1, §6.3).
// Server: present control-service.crt, trust only cluster.crt, require a client certificate,
// and admit only the expected CN prefix (`user-` on the REST API, `node-` on the agent port).
// Client: trust only cluster.crt and check the name `control-service` instead of the dialled
// host, as Flocker's own clients do, so dialling 127.0.0.1 or any alias works.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import {
  checkServerIdentity as tlsCheckServerIdentity, type ConnectionOptions, type PeerCertificate, type Server,
  type TLSSocket, type TlsOptions,
} from 'node:tls';
import { UserError } from '../errors.js';
import { readTextOrExplain } from '../read-text.js';
import { CONTROL_COMMON_NAME, identityFromPeer, type Identity } from './identity.js';

/** PEM text of the cluster CA, our certificate and our key. */
export interface TlsMaterial {
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
}

export type PeerPrefix = 'user-' | 'node-';

/**
 * TLS 1.2 only with forward-secret (ECDHE) AEAD suites; TLS 1.3 suites are all forward-secret
 * AEAD already. Node's default list also admits CBC and non-ECDHE suites for old clients; we
 * have none. Both ends use it, so a connection between our own roles always agrees.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
] as const;
export const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;
const CIPHERS = [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':');

/** A client that has not finished its handshake by then is dropped (Node's default is 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export function serverTlsOptions(m: TlsMaterial, o: { handshakeTimeoutMs?: number } = {}): TlsOptions {
  return {
    ca: m.caCert, cert: m.cert, key: m.key, requestCert: true, rejectUnauthorized: true,
    minVersion: 'TLSv1.2', ciphers: CIPHERS, honorCipherOrder: true,
    handshakeTimeout: o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
  };
}

export function clientTlsOptions(m: TlsMaterial): ConnectionOptions {
  return {
    ca: m.caCert,
    cert: m.cert,
    key: m.key,
    minVersion: 'TLSv1.2',
    ciphers: CIPHERS,
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate) => tlsCheckServerIdentity(CONTROL_COMMON_NAME, cert),
  };
}

/**
 * The verified client's identity if it may use this port, else a reason to refuse it.
 * Chain validation has already happened (rejectUnauthorized); this adds the CN prefix rule.
 */
function admitPeer(socket: TLSSocket, prefix: PeerPrefix): { ok: true; identity: Identity } | { ok: false; reason: string } {
  if (!socket.authorized) {
    return { ok: false, reason: `client certificate not accepted: ${String(socket.authorizationError ?? 'none sent')}` };
  }
  const identity = identityFromPeer(socket.getPeerCertificate());
  if (!identity) return { ok: false, reason: 'client certificate has no common name' };
  if (!identity.cn.startsWith(prefix)) {
    const wanted = prefix === 'user-' ? 'an API user certificate (CN user-NAME)' : 'a node certificate (CN node-UUID)';
    return { ok: false, reason: `this port requires ${wanted}; the client presented CN ${JSON.stringify(identity.cn)}` };
  }
  return { ok: true, identity };
}

/**
 * Close, right after the handshake and before any request is read, every connection whose
 * client certificate lacks `prefix`. Works for tls.Server and https.Server (its HTTP handling
 * is itself a 'secureConnection' listener, so ours goes first). `onRefused` may log.
 */
export function refuseOtherPeers(server: Server, prefix: PeerPrefix, onRefused?: (reason: string, socket: TLSSocket) => void): void {
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    const verdict = admitPeer(socket, prefix);
    if (!verdict.ok) {
      onRefused?.(verdict.reason, socket);
      socket.destroy();
    }
  });
}

/** The identity of an admitted peer (for handlers behind refuseOtherPeers). */
export function peerIdentity(socket: TLSSocket): Identity | undefined {
  return identityFromPeer(socket.getPeerCertificate());
}

/**
 * Read cluster.crt plus CERT and KEY from a certificates folder; a missing file is one clear
 * line naming it. `hint` says how to point elsewhere (e.g. "set --certificates-dir").
 */
export function readTlsMaterial(dir: string, names: { cert: string; key: string; ca?: string }, hint?: string): TlsMaterial {
  const read = (name: string): string => readTextOrExplain(resolve(dir, name), hint);
  const caName = names.ca ?? 'cluster.crt';
  const m = { caCert: read(caName), cert: read(names.cert), key: read(names.key) };
  const problem = materialProblem(m);
  if (problem) {
    const at = (n: string): string => resolve(dir, n);
    const text = problem === 'ca' ? `${at(caName)} is not a PEM certificate`
      : problem === 'cert' ? `${at(names.cert)} is not a PEM certificate`
      : problem === 'key' ? `${at(names.key)} is not a private key in PEM form`
      : problem === 'mismatch' ? `${at(names.key)} is not the key of ${at(names.cert)}`
      : `${at(names.cert)} is not signed by ${at(caName)}: are they from different clusters?`;
    throw new UserError(`${text}${hint ? `; ${hint}` : ''}`);
  }
  return m;
}

/** Catch the mistakes that would otherwise surface as baffling handshake failures. */
function materialProblem(m: TlsMaterial): 'ca' | 'cert' | 'key' | 'mismatch' | 'foreign' | undefined {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(m.caCert);
  } catch {
    return 'ca';
  }
  try {
    cert = new X509Certificate(m.cert);
  } catch {
    return 'cert';
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(m.key);
  } catch {
    return 'key';
  }
  if (!cert.checkPrivateKey(key)) return 'mismatch';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'foreign';
  return undefined;
}
