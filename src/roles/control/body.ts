// POST bodies: JSON whatever the Content-Type (as the original), bounded in size, strict UTF-8.
import type { Context } from 'koa';
import { BodyCutShort, MAX_BODY_BYTES, readBody } from '../../read-body.js';
import { BODY_CUT_SHORT, BODY_TOO_LARGE, DECODING_ERROR } from './api-errors.js';

/** Strict: a body with invalid UTF-8 is refused, not stored with replacement characters. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readJsonBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<unknown> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readBody(ctx, limit);
  } catch (e) {
    if (e instanceof BodyCutShort) throw BODY_CUT_SHORT;
    throw e;
  }
  if (bytes === undefined) throw BODY_TOO_LARGE;
  try {
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch {
    throw DECODING_ERROR;
  }
}
