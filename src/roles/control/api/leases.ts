// /v1/configuration/leases: list, acquire/renew, release.
import type Router from '@koa/router';
import type { ControlHub } from '../hub.js';
import { acquireLeaseEdit, releaseLeaseEdit } from '../edits.js';
import { asDatasetId, asNodeId } from '../../../model/ids.js';
import { leaseToApi, type ApiLease } from '../../../protocol/api-json.js';
import { readJsonBody } from '../body.js';
import { checkAcquireLease } from '../schemas.js';
import { writeErrorToApi } from './datasets.js';
import { sendJson } from './shared.js';

export function leaseRoutes(router: Router, hub: ControlHub): void {
  router.get('/v1/configuration/leases', async (ctx) => {
    await hub.catchUp();
    sendJson(ctx, hub.leases());
  });

  router.post('/v1/configuration/leases', async (ctx) => {
    const body = checkAcquireLease(await readJsonBody(ctx));
    const r = await hub.write(acquireLeaseEdit({
      datasetId: asDatasetId(body.dataset_id), nodeId: asNodeId(body.node_uuid), expiresInSeconds: body.expires,
    }));
    if (!r.ok) throw writeErrorToApi(r.error);
    // Echo the requested duration: recomputing it from the stored instant could drift in the last digit.
    const out: ApiLease = { dataset_id: r.value.lease.datasetId, node_uuid: r.value.lease.nodeId, expires: body.expires };
    sendJson(ctx, out, r.value.created ? 201 : 200);
  });

  router.delete('/v1/configuration/leases/:dataset_id', async (ctx) => {
    const r = await hub.write(releaseLeaseEdit(asDatasetId(ctx.params.dataset_id ?? '')));
    if (!r.ok) throw writeErrorToApi(r.error);
    sendJson(ctx, leaseToApi(r.value, hub.now()));
  });
}
