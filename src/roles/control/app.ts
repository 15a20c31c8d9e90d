// The REST API v1 as a koa app. Errors: ApiError → its status and {"description"}; anything
// else is our bug → logged, 500 with an opaque incident id (as the original).
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../../log.js';
import { ApiError, BODY_CUT_SHORT, METHOD_NOT_ALLOWED, NOT_FOUND } from './api-errors.js';
import type { ControlHub } from './hub.js';
import { StoreUnavailableError } from '../../store/store.js';
import { datasetRoutes } from './api/datasets.js';
import { leaseRoutes } from './api/leases.js';
import { stateRoutes } from './api/state.js';
import { eventRoutes } from './api/events.js';
import { requestMetrics } from './request-metrics.js';

export interface AppOptions {
  readonly heartbeatMs?: number;
  /** /v1/events: the backlog below which a slow reader is never dropped. */
  readonly minBacklogBytes?: number;
}

function isClientHttpError(e: unknown): e is { status: number; message: string; expose: boolean } {
  const x = e as { status?: unknown; expose?: unknown };
  return typeof x?.status === 'number' && x.status >= 400 && x.status < 500 && x.expose === true;
}

export function createApp(hub: ControlHub, log: Logger, opts: AppOptions = {}): Koa {
  const app = new Koa();
  // Koa's default handler prints every error to stderr; we log our own.
  app.silent = true;
  const router = new Router();
  datasetRoutes(router, hub);
  leaseRoutes(router, hub);
  stateRoutes(router, hub);
  eventRoutes(router, hub, {
    log,
    ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.minBacklogBytes !== undefined ? { minBacklogBytes: opts.minBacklogBytes } : {}),
  });

  app.use(requestMetrics());
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 405) throw METHOD_NOT_ALLOWED;
        if (ctx.status === 404) throw NOT_FOUND;
      }
    } catch (e) {
      ctx.type = 'application/json';
      if (e instanceof StoreUnavailableError) {
        // Not our bug and not the client's: the store (etcd without quorum) is away; retrying later works.
        ctx.status = 503;
        ctx.body = { description: `The configuration store is unavailable; try again later. ${e.message}` };
      } else if (e instanceof ApiError) {
        ctx.status = e.status;
        ctx.body = e.body();
      } else if (isClientHttpError(e)) {
        ctx.status = e.status;
        ctx.body = { description: e.message };
      } else if (ctx.req.destroyed && !ctx.req.complete) {
        // The client vanished mid-request; whatever broke, nobody is waiting for the answer.
        log.debug({ err: e, method: ctx.method, path: ctx.path }, 'client went away mid-request');
        ctx.status = 400;
        ctx.body = BODY_CUT_SHORT.body();
      } else {
        const incident = randomUUID();
        log.error({ err: e, incident, method: ctx.method, path: ctx.path }, 'request failed');
        ctx.status = 500;
        ctx.body = JSON.stringify(incident);
      }
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
