// Times every REST API request for flocker_control_api_request_duration_seconds. The route label
// is the router's pattern (/v1/configuration/datasets/:dataset_id), never the raw URL, so one
// label value per route, not one per dataset. Outermost middleware: it sees the final status,
// after errors have been turned into answers.
import type { Middleware } from 'koa';
import { controlMetrics, secondsSince } from '../../metrics/registry.js';

export function requestMetrics(): Middleware {
  const { apiRequestDuration } = controlMetrics();
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      const route = matched === undefined ? 'unmatched' : String(matched);
      apiRequestDuration.observe({ route, method: ctx.method, status: String(ctx.status) }, secondsSince(started));
    }
  };
}
