// Turn a failed connection to the control service into one line that says what is wrong and
// whose move it is. Node reports TLS trouble by OpenSSL code: verification codes when we refuse
// the server, ERR_SSL_*_ALERT_* when the server refuses us.
import { UnreachableError, UserError } from '../errors.js';

export interface FailureContext {
  /** host:port */
  readonly address: string;
  /** CN of our client certificate, if readable. */
  readonly ownCn?: string;
  /** The TLS handshake had completed (from our side) when the failure happened. */
  readonly afterHandshake: boolean;
  readonly timeoutMs: number;
}

/** Raised by our own request timer. */
export const TIMEOUT_CODE = 'FLOCKER_TIMEOUT';

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
    return new UserError(`the control service at ${ctx.address} rejected our certificate${own}: ${alertReason(code, message)}`);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || /wrong version number|packet length too long/.test(message)) {
    return new UserError(`the server at ${ctx.address} does not speak TLS (is that the REST API port, 4523 by default?)`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(message)) {
    if (ctx.afterHandshake && ctx.ownCn !== undefined && !ctx.ownCn.startsWith('user-')) {
      return new UserError(
        `the control service at ${ctx.address} rejected our certificate: the REST API accepts only API user certificates (CN user-NAME, made with \`flocker ca create-api-certificate\`)${own}`,
      );
    }
    if (ctx.afterHandshake) {
      return new UserError(`the control service at ${ctx.address} closed the connection before answering (it may have refused our certificate${own}, or stopped)`);
    }
    return new UnreachableError(WHAT, ctx.address, 'the connection was reset during the TLS handshake');
  }
  if (code.startsWith('ERR_OSSL') || code.startsWith('ERR_SSL')) {
    return new UserError(`TLS with the control service at ${ctx.address} failed: ${message}`);
  }
  return new UnreachableError(WHAT, ctx.address, code ? `${code}: ${message}` : message);
}
