// Turn a failed connection to the control service into one line that says what is wrong and
// whose move it is. Node reports TLS trouble by OpenSSL code: verification codes when we refuse
// the server, ERR_SSL_*_ALERT_* when the server refuses us.
import { X509Certificate } from 'node:crypto';
import { UnreachableError, UserError } from '../errors.js';
import { identityFromPeer } from '../tls/identity.js';

export interface FailureContext {
  /** host:port */
  readonly address: string;
  /** CN of our client certificate, if readable. */
  readonly ownCn?: string;
  /** What we already know to be wrong with our own certificate, if anything (see ownCertificateProblem). */
  readonly ownProblem?: string;
  /** The TLS handshake had completed (from our side) when the failure happened. */
  readonly afterHandshake: boolean;
  readonly timeoutMs: number;
}

/** Raised by our own request timer. */
export const TIMEOUT_CODE = 'FLOCKER_TIMEOUT';
/** Raised when the event stream stays silent (no events, no heartbeats) too long. */
export const STREAM_IDLE_CODE = 'FLOCKER_STREAM_IDLE';

const WHAT = 'the control service';

const SERVER_NOT_TRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is `flocker control` running and listening on that port?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved (DNS lookup failed)',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'the connection timed out',
  EADDRNOTAVAIL: 'address not available',
};

function alertReason(code: string, message: string): string {
  if (/CERTIFICATE_REQUIRED/.test(code)) return 'it requires a client certificate';
  if (/UNKNOWN_CA/.test(code)) return "our certificate is not signed by its cluster CA (is cluster.crt from the same cluster as our certificate?)";
  if (/CERTIFICATE_EXPIRED/.test(code)) return 'it says our certificate has expired';
  if (/BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|DECRYPT_ERROR/.test(code)) return 'it does not accept our certificate';
  const m = /alert ([a-z0-9 ]+)/i.exec(message);
  return m ? `TLS alert "${m[1]}"` : message;
}

export function describeFailure(err: unknown, ctx: FailureContext): UserError {
  if (err instanceof UserError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const message = e instanceof Error ? e.message : String(err);
  const own = ctx.ownCn ? ` (ours is CN ${ctx.ownCn})` : '';

  if (code === TIMEOUT_CODE) return new UnreachableError(WHAT, ctx.address, `no answer within ${Math.round(ctx.timeoutMs / 100) / 10} s`);
  if (code === STREAM_IDLE_CODE) return new UnreachableError(WHAT, ctx.address, `the event stream went silent (${message})`);
  const unreachable = UNREACHABLE[code];
  if (unreachable) return new UnreachableError(WHAT, ctx.address, unreachable);

  if (SERVER_NOT_TRUSTED.has(code)) {
    return new UserError(`the server at ${ctx.address} is not this cluster's control service: its certificate is not signed by our cluster.crt (${code})`);
  }
  if (code === 'CERT_HAS_EXPIRED') return new UserError(`the control service at ${ctx.address} presented an expired certificate`);
  if (code === 'CERT_NOT_YET_VALID') return new UserError(`the control service at ${ctx.address} presented a certificate that is not valid yet (check the clocks)`);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new UserError(`the server at ${ctx.address} is not the control service: its certificate, though signed by our cluster CA, is not named control-service`);
  }
  if (code === 'INVALID_PURPOSE') {
    return new UserError(`the server at ${ctx.address} presented a certificate that may not serve (an API user certificate?), not the control service's`);
  }
  if (/^ERR_SSL_.*ALERT/.test(code)) {
    return new UserError(`the control service at ${ctx.address} rejected our certificate: ${ctx.ownProblem ?? `${alertReason(code, message)}${own}`}`);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || /wrong version number|packet length too long/.test(message)) {
    return new UserError(`the server at ${ctx.address} does not speak TLS (is that the REST API port, 4523 by default?)`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(message)) {
    if (ctx.afterHandshake && ctx.ownProblem) {
      return new UserError(`the control service at ${ctx.address} rejected our certificate: ${ctx.ownProblem}`);
    }
    if (ctx.afterHandshake) {
      return new UserError(`the control service at ${ctx.address} closed the connection before answering: it refused our certificate${ctx.ownCn ? ` (CN ${ctx.ownCn})` : ''} or stopped`);
    }
    return new UnreachableError(WHAT, ctx.address, 'the connection was reset during the TLS handshake');
  }
  if (code.startsWith('ERR_OSSL') || code.startsWith('ERR_SSL')) {
    return new UserError(`TLS with the control service at ${ctx.address} failed: ${message}`);
  }
  return new UnreachableError(WHAT, ctx.address, code ? `${code}: ${message}` : message);
}

/**
 * What is wrong with our client certificate for the REST API, judged locally: not an API user
 * certificate, or not signed by the CA we trust (certificates mixed from two clusters). The
 * server just closes the connection in these cases, so this is what lets us say why.
 */
export function ownCertificateProblem(caCertPem: string, certPem: string): string | undefined {
  let cert: X509Certificate;
  let cn: string | undefined;
  try {
    cert = new X509Certificate(certPem);
    cn = identityFromPeer(cert.toLegacyObject())?.cn;
  } catch {
    return 'our certificate is not a PEM X.509 certificate';
  }
  if (cn === undefined || !cn.startsWith('user-')) {
    return `the REST API accepts only API user certificates (CN user-NAME, made with \`flocker ca create-api-certificate\`); ours is CN ${cn ?? '(none)'}`;
  }
  try {
    const ca = new X509Certificate(caCertPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      return `our certificate (CN ${cn}) is not signed by the cluster.crt we were given: are they from the same cluster?`;
    }
  } catch {
    return undefined; // a bad CA file fails on its own, with its own message
  }
  return undefined;
}
