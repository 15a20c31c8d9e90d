// POST bodies: JSON whatever the Content-Type (as the original), bounded in size.
import type { Context } from 'koa';
import { BODY_TOO_LARGE, DECODING_ERROR } from './api-errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export async function readJsonBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) {
    ctx.set('Connection', 'close');
    throw BODY_TOO_LARGE;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.set('Connection', 'close');
      throw BODY_TOO_LARGE;
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw DECODING_ERROR;
  }
}
