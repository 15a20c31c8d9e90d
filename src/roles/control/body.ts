// POST bodies: JSON whatever the Content-Type (as the original), bounded in size, strict UTF-8.
import type { Context } from 'koa';
import { BODY_CUT_SHORT, BODY_TOO_LARGE, DECODING_ERROR } from './api-errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/** Strict: a body with invalid UTF-8 is refused, not stored with replacement characters. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readJsonBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) {
    ctx.set('Connection', 'close');
    throw BODY_TOO_LARGE;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        ctx.set('Connection', 'close');
        throw BODY_TOO_LARGE;
      }
      chunks.push(chunk);
    }
  } catch (e) {
    if (e === BODY_TOO_LARGE) throw e;
    // The client went away (or its body timed out) mid-body: its fault, not ours.
    throw BODY_CUT_SHORT;
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch {
    throw DECODING_ERROR;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw DECODING_ERROR;
  }
}
