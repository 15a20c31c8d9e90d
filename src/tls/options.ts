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

export function serverTlsOptions(m: TlsMaterial): TlsOptions {
  return { ca: m.caCert, cert: m.cert, key: m.key, requestCert: true, rejectUnauthorized: true };
}

export function clientTlsOptions(m: TlsMaterial): ConnectionOptions {
  return {
    ca: m.caCert,
    cert: m.cert,
    key: m.key,
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
