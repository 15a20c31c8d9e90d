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
 * X-If-Configuration-Matches: checked before anything else on create, update and delete. Repeated
 * headers arrive comma-joined; any one matching is enough.
 */
export function checkTag(ctx: Context, hub: ControlHub): void {
  const sent = ctx.get('x-if-configuration-matches');
  if (ctx.headers['x-if-configuration-matches'] === undefined) return;
  const current = hub.tag(hub.deployment);
  if (sent.split(',').some((v) => v.trim() === current)) return;
  throw tagMismatch(sent, current);
}
