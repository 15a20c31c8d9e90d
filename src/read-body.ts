// A request body as text, bounded in size, for the koa apps (the REST API and the Docker plugin).
// Each app decides what a body means (strict JSON, lenient Docker JSON) and how to say it is too large.
import type { Context } from 'koa';

export const MAX_BODY_BYTES = 1024 * 1024;

/** The client went away (or its body timed out) mid-body: its fault, not ours. */
export class BodyCutShort extends Error {
  override readonly name = 'BodyCutShort';
}

/** The body's bytes, or undefined when it is larger than `limit` (the connection is then closed). */
export async function readBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<Buffer | undefined> {
  const tooLarge = (): undefined => {
    ctx.set('Connection', 'close');
    return undefined;
  };
  if (Number(ctx.get('content-length') || 0) > limit) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    }
  } catch {
    throw new BodyCutShort('the request body was cut short');
  }
  return Buffer.concat(chunks);
}

/** The body as UTF-8 text (lenient, as Docker's clients expect), or undefined when too large. */
export async function readBodyText(ctx: Context, limit = MAX_BODY_BYTES): Promise<string | undefined> {
  return (await readBody(ctx, limit))?.toString('utf8');
}
