// /v1/state/*, /v1/version, /v1/convergence and the deprecated container lists.
import type Router from '@koa/router';
import type { ControlHub } from '../hub.js';
import { FLOCKER_API_VERSION } from '../../../version.js';
import { NODE_BY_ERA_NOT_FOUND } from '../api-errors.js';
import { cachedJsonSender, sendJson, sendJsonText } from './shared.js';

export function stateRoutes(router: Router, hub: ControlHub): void {
  const version = JSON.stringify({ flocker: FLOCKER_API_VERSION });
  router.get('/v1/version', (ctx) => sendJsonText(ctx, version));
  const state = cachedJsonSender();
  const nodes = cachedJsonSender();
  const convergence = cachedJsonSender();
  router.get('/v1/state/datasets', (ctx) => state(ctx, hub.stateJson()));
  router.get('/v1/state/nodes', (ctx) => nodes(ctx, hub.nodesJson()));
  router.get('/v1/state/nodes/by_era/:era', (ctx) => {
    const uuid = hub.nodeByEra(ctx.params.era ?? '');
    if (!uuid) throw NODE_BY_ERA_NOT_FOUND;
    sendJson(ctx, { uuid });
  });
  // Ours: what the nodes' pools say each dataset is, for `flocker adopt`.
  router.get('/v1/state/manifests', (ctx) => sendJson(ctx, hub.manifests()));
  router.get('/v1/convergence', (ctx) => convergence(ctx, hub.convergenceJsonText()));
  // Container support was removed long ago; clients that list containers get none.
  router.get('/v1/configuration/containers', (ctx) => sendJsonText(ctx, '[]'));
  router.get('/v1/state/containers', (ctx) => sendJsonText(ctx, '[]'));
}
