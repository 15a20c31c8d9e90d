// Request body schemas with the original's limits (types.yml), checked by ajv.
import { UUID_V4_PATTERN } from '../../model/ids.js';
import { MAXIMUM_LEASE_SECONDS, MAXIMUM_MAXIMUM_SIZE, MINIMUM_MAXIMUM_SIZE } from '../../model/configuration.js';
import type { ApiCreateDataset } from '../../protocol/api-json.js';
import { schemaError } from './api-errors.js';
import { compileCheck, problemLines } from '../../validate.js';

const uuid = { type: 'string', pattern: UUID_V4_PATTERN, description: 'a UUID' } as const;

const createDataset = {
  type: 'object',
  required: ['primary'],
  additionalProperties: false,
  properties: {
    primary: uuid,
    dataset_id: uuid,
    // One union type rather than anyOf: numeric keywords skip null, and a bad size then gets one
    // clear error instead of one per alternative.
    maximum_size: { type: ['integer', 'null'], minimum: MINIMUM_MAXIMUM_SIZE, maximum: MAXIMUM_MAXIMUM_SIZE, multipleOf: 1024 },
    metadata: {
      type: 'object',
      maxProperties: 16,
      propertyNames: { minLength: 1, maxLength: 256 },
      additionalProperties: { type: 'string', maxLength: 256 },
    },
  },
} as const;

const updateDataset = {
  type: 'object',
  additionalProperties: false,
  // force (ours): allow the move off an unreachable node, and fence that node.
  properties: { primary: uuid, force: { type: 'boolean' } },
} as const;

const acquireLease = {
  type: 'object',
  required: ['dataset_id', 'node_uuid', 'expires'],
  additionalProperties: false,
  properties: {
    // The original only checked the length and then crashed on a non-UUID; we say 400.
    dataset_id: uuid,
    node_uuid: uuid,
    // Seconds from now. A finite, sane range: 1e308 would be stored as "never", -1e308 as long gone.
    expires: { type: ['number', 'null'], minimum: 0, maximum: MAXIMUM_LEASE_SECONDS },
  },
} as const;

function checker<T>(schema: object): (body: unknown) => T {
  const check = compileCheck<T>(schema);
  return (body) => {
    const r = check(body);
    if (r.ok) return r.value;
    throw schemaError(problemLines(r.problems));
  };
}

export const checkCreateDataset = checker<ApiCreateDataset>(createDataset);
export const checkUpdateDataset = checker<{ primary?: string; force?: boolean }>(updateDataset);
export const checkAcquireLease = checker<{ dataset_id: string; node_uuid: string; expires: number | null }>(acquireLease);
