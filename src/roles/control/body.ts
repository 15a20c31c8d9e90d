// POST bodies: JSON whatever the Content-Type (as the original), bounded in size.
import type { Context } from 'koa';
import { MAX_BODY_BYTES, readBodyText } from '../../read-body.js';
import { BODY_TOO_LARGE, DECODING_ERROR } from './api-errors.js';

export async function readJsonBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<unknown> {
  const text = await readBodyText(ctx, limit);
  if (text === undefined) throw BODY_TOO_LARGE;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw DECODING_ERROR;
  }
}
