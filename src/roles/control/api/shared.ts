import type { Context } from 'koa';
import type { ControlHub } from '../hub.js';
import { tagMismatch } from '../api-errors.js';

/** Send pre-serialised JSON text (cached by the hub) without re-encoding it. */
export function sendJsonText(ctx: Context, text: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = text;
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
