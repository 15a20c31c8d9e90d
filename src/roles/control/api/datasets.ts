// /v1/configuration/datasets: create, list, move (update), delete.
import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { ControlHub } from '../hub.js';
import { asDatasetId, asNodeId, type DatasetId, type NodeId } from '../../../model/ids.js';
import type { ModelError } from '../../../model/errors.js';
import { datasetToApi } from '../../../protocol/api-json.js';
import { DATASET_DELETED, DATASET_ID_COLLISION, DATASET_NOT_FOUND, LEASE_HELD, LEASE_NOT_FOUND, nodeUnreachable, tagMismatch, type ApiError } from '../api-errors.js';
import type { WriteError } from '../config-writer.js';
import { createEdit, deleteEdit, moveOffEdit } from '../edits.js';
import { mountedOn } from '../../../model/cluster-state.js';
import { ANY_ERA } from '../../../model/configuration.js';
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
    case 'node-unreachable': return nodeUnreachable(e.node, e.datasetId, e.timeoutSeconds);
  }
}

/** `sent`: the X-If-Configuration-Matches header as received, for the 412's description. */
export function writeErrorToApi(e: WriteError, sent = ''): ApiError {
  return e.kind === 'tag-mismatch' ? tagMismatch(sent, e.current) : modelErrorToApi(e);
}

export function datasetRoutes(router: Router, hub: ControlHub): void {
  const list = cachedJsonSender();
  router.get('/v1/configuration/datasets', async (ctx) => {
    await hub.catchUp();
    ctx.set('X-Configuration-Tag', hub.tag());
    list(ctx, hub.configurationJson());
  });

  router.post('/v1/configuration/datasets', async (ctx) => {
    const ifMatch = await checkTag(ctx, hub);
    const body = checkCreateDataset(await readJsonBody(ctx));
    const r = await hub.write(createEdit({
      datasetId: asDatasetId(body.dataset_id ?? randomUUID()),
      primary: asNodeId(body.primary),
      maximumSize: body.maximum_size ?? null,
      metadata: body.metadata ?? {},
    }), ifMatch);
    if (!r.ok) throw writeErrorToApi(r.error, ctx.get('x-if-configuration-matches'));
    sendJson(ctx, datasetToApi(r.value), 201);
  });

  router.post('/v1/configuration/datasets/:dataset_id', async (ctx) => {
    const ifMatch = await checkTag(ctx, hub);
    const body = checkUpdateDataset(await readJsonBody(ctx));
    // Exact match on the stored lower-case id, as the original.
    const id = (ctx.params.dataset_id ?? '') as DatasetId;
    const r = await hub.write(moveOffEdit(id, body.primary !== undefined ? asNodeId(body.primary) : undefined, {
      // The node a move takes the dataset from: its primary, or whoever reports it mounted.
      unreachableHolder: (d, target) => [d.primary, mountedOn(hub.cluster, d.datasetId)?.uuid]
        .find((n): n is NodeId => n !== undefined && n !== target && hub.unreachable.has(n)),
      eraOf: (n) => hub.lastHeard(n)?.era ?? ANY_ERA,
      force: body.force === true,
      timeoutSeconds: Math.round(hub.unreachableAfterMs / 1000),
    }), ifMatch);
    if (!r.ok) throw writeErrorToApi(r.error, ctx.get('x-if-configuration-matches'));
    sendJson(ctx, datasetToApi(r.value));
  });

  router.delete('/v1/configuration/datasets/:dataset_id', async (ctx) => {
    const ifMatch = await checkTag(ctx, hub);
    const r = await hub.write(deleteEdit((ctx.params.dataset_id ?? '') as DatasetId), ifMatch);
    if (!r.ok) throw writeErrorToApi(r.error, ctx.get('x-if-configuration-matches'));
    sendJson(ctx, datasetToApi(r.value));
  });
}
