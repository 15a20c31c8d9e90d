// /v1/configuration/leases: list, acquire/renew, release.
import type Router from '@koa/router';
import type { ControlHub } from '../hub.js';
import { acquireLease, releaseLease } from '../../../model/deployment.js';
import { asDatasetId, asNodeId } from '../../../model/ids.js';
import { leaseToApi, type ApiLease } from '../../../protocol/api-json.js';
import { readJsonBody } from '../body.js';
import { checkAcquireLease } from '../schemas.js';
import { modelErrorToApi } from './datasets.js';
import { sendJson } from './shared.js';

export function leaseRoutes(router: Router, hub: ControlHub): void {
  router.get('/v1/configuration/leases', (ctx) => {
    sendJson(ctx, hub.leases());
  });

  router.post('/v1/configuration/leases', async (ctx) => {
    const body = checkAcquireLease(await readJsonBody(ctx));
    const now = hub.now();
    const r = acquireLease(hub.deployment, {
      datasetId: asDatasetId(body.dataset_id),
      nodeId: asNodeId(body.node_uuid),
      expiresAt: body.expires === null ? null : now + body.expires * 1000,
    });
    if (!r.ok) throw modelErrorToApi(r.error);
    await hub.commit(r.value.deployment);
    // Echo the requested duration: recomputing it from the stored instant could drift in the last digit.
    const out: ApiLease = { dataset_id: r.value.lease.datasetId, node_uuid: r.value.lease.nodeId, expires: body.expires };
    sendJson(ctx, out, r.value.created ? 201 : 200);
  });

  router.delete('/v1/configuration/leases/:dataset_id', async (ctx) => {
    const r = releaseLease(hub.deployment, asDatasetId(ctx.params.dataset_id ?? ''));
    if (!r.ok) throw modelErrorToApi(r.error);
    await hub.commit(r.value.deployment);
    sendJson(ctx, leaseToApi(r.value.lease, hub.now()));
  });
}
