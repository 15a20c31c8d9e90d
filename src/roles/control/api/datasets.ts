// /v1/configuration/datasets: create, list, move (update), delete.
import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { ControlHub } from '../hub.js';
import { datasetOf } from '../../../model/configuration.js';
import { createDataset, deleteDataset, moveDataset } from '../../../model/deployment.js';
import { asDatasetId, asNodeId } from '../../../model/ids.js';
import type { ModelError } from '../../../model/errors.js';
import { datasetToApi } from '../../../protocol/api-json.js';
import { DATASET_DELETED, DATASET_ID_COLLISION, DATASET_NOT_FOUND, LEASE_HELD, LEASE_NOT_FOUND, type ApiError } from '../api-errors.js';
import { readJsonBody } from '../body.js';
import { checkCreateDataset, checkUpdateDataset } from '../schemas.js';
import { cachedJsonSender, checkTag, sendJson } from './shared.js';

export function modelErrorToApi(e: ModelError): ApiError {
  switch (e.kind) {
    case 'dataset-exists': return DATASET_ID_COLLISION;
    case 'dataset-not-found': return DATASET_NOT_FOUND;
    case 'dataset-deleted': return DATASET_DELETED;
    case 'lease-held': return LEASE_HELD;
    case 'lease-not-found': return LEASE_NOT_FOUND;
  }
}

export function datasetRoutes(router: Router, hub: ControlHub): void {
  const list = cachedJsonSender();
  router.get('/v1/configuration/datasets', (ctx) => {
    ctx.set('X-Configuration-Tag', hub.tag());
    list(ctx, hub.configurationJson());
  });

  router.post('/v1/configuration/datasets', async (ctx) => {
    checkTag(ctx, hub);
    const body = checkCreateDataset(await readJsonBody(ctx));
    const r = createDataset(hub.deployment, {
      datasetId: asDatasetId(body.dataset_id ?? randomUUID()),
      primary: asNodeId(body.primary),
      maximumSize: body.maximum_size ?? null,
      metadata: body.metadata ?? {},
    });
    if (!r.ok) throw modelErrorToApi(r.error);
    await hub.commit(r.value.deployment);
    sendJson(ctx, datasetToApi(r.value.dataset), 201);
  });

  router.post('/v1/configuration/datasets/:dataset_id', async (ctx) => {
    checkTag(ctx, hub);
    const body = checkUpdateDataset(await readJsonBody(ctx));
    // Exact match on the stored lower-case id, as the original.
    const id = ctx.params.dataset_id ?? '';
    const current = datasetOf(hub.deployment, id);
    if (!current) throw DATASET_NOT_FOUND;
    const r = moveDataset(hub.deployment, current.datasetId, body.primary !== undefined ? asNodeId(body.primary) : current.primary);
    if (!r.ok) throw modelErrorToApi(r.error);
    await hub.commit(r.value.deployment);
    sendJson(ctx, datasetToApi(r.value.dataset));
  });

  router.delete('/v1/configuration/datasets/:dataset_id', async (ctx) => {
    checkTag(ctx, hub);
    const current = datasetOf(hub.deployment, ctx.params.dataset_id ?? '');
    if (!current) throw DATASET_NOT_FOUND;
    const r = deleteDataset(hub.deployment, current.datasetId);
    if (!r.ok) throw modelErrorToApi(r.error);
    await hub.commit(r.value.deployment);
    sendJson(ctx, datasetToApi(r.value.dataset));
  });
}
