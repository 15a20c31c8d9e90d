// Request body schemas with the original's limits (types.yml), checked by ajv.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { UUID_V4_PATTERN } from '../../model/ids.js';
import { MAXIMUM_LEASE_SECONDS, MAXIMUM_MAXIMUM_SIZE, MINIMUM_MAXIMUM_SIZE } from '../../model/configuration.js';
import type { ApiCreateDataset } from '../../protocol/api-json.js';
import { schemaError } from './api-errors.js';

const uuid = { type: 'string', pattern: UUID_V4_PATTERN } as const;

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
  properties: { primary: uuid },
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

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'body' : e.instancePath.slice(1).replaceAll('/', '.');
  if (e.keyword === 'additionalProperties') {
    return `${where}: additional properties are not allowed ('${String(e.params.additionalProperty)}' was unexpected)`;
  }
  if (e.keyword === 'type') {
    const types = String(e.params.type).split(',');
    return `${where}: must be ${types.map((t) => (t === 'null' ? 'null' : `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`)).join(' or ')}`;
  }
  if (e.keyword === 'propertyNames') return `${where}: property name '${String(e.params.propertyName)}' is invalid`;
  return `${where}: ${e.message ?? e.keyword}`;
}

function checker<T>(schema: object): (body: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body) => {
    if (validate(body)) return body as T;
    // propertyNames failures come in pairs (the name and the wrapper); keep each message once.
    throw schemaError([...new Set((validate.errors ?? []).map(describe))]);
  };
}

export const checkCreateDataset = checker<ApiCreateDataset>(createDataset);
export const checkUpdateDataset = checker<{ primary?: string }>(updateDataset);
export const checkAcquireLease = checker<{ dataset_id: string; node_uuid: string; expires: number | null }>(acquireLease);
