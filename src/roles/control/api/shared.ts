import type { Context } from 'koa';
import type { ControlHub } from '../hub.js';
import { tagMismatch } from '../api-errors.js';

/** Send JSON text; koa re-encodes a string on every response. */
export function sendJsonText(ctx: Context, text: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = text;
}

/**
 * For a route serving the hub's cached text: keeps the UTF-8 bytes of the last text it served,
 * so an unchanged section is encoded once per change, not once per request. The hub returns the
 * same string object until a change, so the comparison is a pointer check.
 */
export function cachedJsonSender(): (ctx: Context, text: string) => void {
  let last: { text: string; bytes: Buffer } | undefined;
  return (ctx, text) => {
    if (last?.text !== text) last = { text, bytes: Buffer.from(text) };
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = last.bytes;
  };
}

export function sendJson(ctx: Context, value: unknown, status = 200): void {
  sendJsonText(ctx, JSON.stringify(value), status);
}

/**
 * X-If-Configuration-Matches on create, update and delete. Repeated headers arrive comma-joined;
 * any one matching is enough. A tag that is already stale fails here, before the body is read
 * (generations only grow); the tags are compared again in the same step as the write, which is
 * what makes the request conditional. Returns the tags to pass to the write.
 */
export async function checkTag(ctx: Context, hub: ControlHub): Promise<string[] | undefined> {
  if (ctx.headers['x-if-configuration-matches'] === undefined) return undefined;
  // The tag may come from another replica: look at least as far as it could have.
  await hub.catchUp();
  const sent = ctx.get('x-if-configuration-matches');
  const tags = sent.split(',').map((v) => v.trim());
  const current = hub.tag();
  if (!tags.includes(current)) throw tagMismatch(sent, current);
  return tags;
}
