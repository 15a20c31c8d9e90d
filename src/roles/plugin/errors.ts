// Turning whatever went wrong into the one-line `Err` Docker shows its user.
import { ApiRequestError } from '../../client/types.js';
import { UserError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT',
  'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'ABORT_ERR',
]);

/** A network failure code anywhere in the error's cause chain (fetch wraps them in TypeError). */
function networkCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (cur instanceof Error && /self[- ]signed|certificate|TLS|socket hang up|timed? ?out/i.test(cur.message)) {
      return cur.message;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function errText(e: unknown, controlAddress: string, log: Logger): string {
  if (e instanceof ApiRequestError) return `the control service refused (${e.status}): ${e.message}`;
  // Our own sentences (and the client's one-line connection failures) pass through as they are;
  // only raw errors are searched for a network cause.
  if (e instanceof UserError) return e.message;
  const code = networkCode(e);
  if (code !== undefined) return `cannot reach the control service at ${controlAddress}: ${code}`;
  log.error({ err: e }, 'unexpected error in a plugin request');
  return `internal error in the flocker plugin (a bug; see its log): ${errorMessage(e)}`;
}
