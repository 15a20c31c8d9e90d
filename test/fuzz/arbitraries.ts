// Machine-made bad input: fast-check arbitraries for every surface, shaped after what each one
// expects and then bent (near misses), plus plain garbage.
import fc from 'fast-check';

const MB = 1024 * 1024;

/** Ids: valid UUID v4, near misses (case, length, braces), prototype names, and any string. */
export const idLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.uuid({ version: 4 }) },
  { weight: 1, arbitrary: fc.uuid({ version: 4 }).map((u) => u.toUpperCase()) },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.slice(0, 35)) },
  { weight: 1, arbitrary: fc.uuid().map((u) => `{${u}}`) },
  { weight: 1, arbitrary: fc.uuid({ version: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', '', ' ', '..', '%00', 'null', '0') },
  { weight: 2, arbitrary: fc.string({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
);

/** Numbers a size or a duration might be sent as. */
export const numberLike: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1023, 1024, 67_108_864, 67_108_864 - 1024, 2 ** 50, 2 ** 50 + 1024, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, -0),
  fc.integer({ min: 0, max: 2 ** 40 }).map((k) => k * 1024),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
  fc.boolean(),
);

const metadataLike: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), { maxKeys: 20 }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'name', 'toString'), fc.string({ maxLength: 8 })),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Bodies near the API's schemas: every field may be missing, mistyped or out of range, plus an extra one. */
export const apiBodyObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ primary: idLike, dataset_id: idLike, maximum_size: numberLike, metadata: metadataLike }, { requiredKeys: [] }),
  fc.record({ primary: idLike, dataset_id: idLike, maximum_size: numberLike, metadata: metadataLike, extra: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['primary'] }),
  fc.record({ primary: idLike, force: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
  fc.record({ dataset_id: idLike, node_uuid: idLike, expires: numberLike }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 4 }),
);

/** Deep nesting: `[[[...]]]` or `{"a":{"a":...}}`, up to 200,000 levels. */
const deeplyNested: fc.Arbitrary<Buffer> = fc.tuple(fc.integer({ min: 1, max: 200_000 }), fc.boolean(), fc.boolean()).map(([depth, arrays, closed]) => {
  const open = arrays ? '[' : '{"a":';
  const close = arrays ? ']' : '}';
  return Buffer.from(open.repeat(depth) + (arrays ? '1' : '1') + (closed ? close.repeat(depth) : ''));
});

/** Invalid UTF-8 inside otherwise well-formed JSON, or raw bytes. */
const invalidUtf8: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(apiBodyObject, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([o, bytes]) => {
    const text = JSON.stringify({ v: o, s: 'XX' });
    const at = text.lastIndexOf('XX');
    return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff, ...bytes, 0xc3]), Buffer.from(text.slice(at + 2))]);
  }),
  fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
);

/** Big: long strings inside JSON, just under and just over the 1 MiB body limit. */
const huge: fc.Arbitrary<Buffer> = fc.tuple(fc.constantFrom(MB - 100, MB + 10, 2 * MB, 64 * 1024), fc.constantFrom('metadata', 'primary', 'list'))
  .map(([n, where]) => Buffer.from(where === 'list' ? `[${'1,'.repeat(Math.floor(n / 2))}1]`
    : where === 'metadata' ? JSON.stringify({ primary: '11111111-1111-4111-8111-111111111111', metadata: { name: 'x'.repeat(n) } })
    : JSON.stringify({ primary: 'x'.repeat(n) })));

/** A request body (bytes), or none. */
export const apiBody: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 8, arbitrary: apiBodyObject.map((o) => Buffer.from(JSON.stringify(o) ?? 'null')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: deeplyNested },
  { weight: 1, arbitrary: invalidUtf8 },
  { weight: 1, arbitrary: huge },
);

const segment = (a: fc.Arbitrary<string>): fc.Arbitrary<string> => a.map((s) => encodeURIComponent(s));

/** Every route of the REST API with bent parameters, unknown paths and very long URLs. */
export const apiPath: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('/v1/version', '/v1/configuration/datasets', '/v1/configuration/leases', '/v1/state/datasets', '/v1/state/nodes', '/v1/convergence', '/v1/configuration/containers', '/v1/state/containers', '/v1/events') },
  { weight: 6, arbitrary: segment(idLike).map((id) => `/v1/configuration/datasets/${id}`) },
  { weight: 4, arbitrary: segment(idLike).map((id) => `/v1/configuration/leases/${id}`) },
  { weight: 2, arbitrary: segment(idLike).map((id) => `/v1/state/nodes/by_era/${id}`) },
  { weight: 2, arbitrary: fc.array(segment(fc.string({ maxLength: 20 })), { maxLength: 6 }).map((xs) => `/${xs.join('/')}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/v1/configuration/datasets', '/v1/version'), fc.string({ maxLength: 50 })).map(([p, q]) => `${p}?${encodeURIComponent(q)}=${encodeURIComponent(q)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => `/v1/configuration/datasets/${'a'.repeat(n)}`) },
  { weight: 1, arbitrary: fc.constantFrom('/v1/configuration/datasets/', '/v1//configuration/datasets', '/v1/configuration/datasets/%2e%2e', '/V1/VERSION', '/v1/configuration/datasets/%ZZ', '//', '/v1/configuration/leases/%') },
);

export const apiMethod = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS') },
);

/** Header values a client might send (printable, since Node refuses to send others). */
const headerValue = fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x'));

export const apiHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.record({
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''),
    'x-if-configuration-matches': headerValue,
    accept: fc.constantFrom('application/json', 'text/event-stream', '*/*'),
  }, { requiredKeys: [] }) },
);

export interface ApiCase {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
}

const json = (a: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> => a.map((o) => Buffer.from(JSON.stringify(o) ?? 'null'));
const nodeish = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-a222-222222222222') }, { weight: 2, arbitrary: idLike });

/** Requests shaped like each route expects (its method, a body near its schema), then bent. */
const routeShaped: fc.Arbitrary<ApiCase> = fc.oneof(
  fc.record({
    method: fc.constant('POST'), path: fc.constant('/v1/configuration/datasets'), headers: apiHeaders,
    body: fc.oneof({ weight: 4, arbitrary: json(fc.record({ primary: nodeish, dataset_id: idLike, maximum_size: numberLike, metadata: metadataLike }, { requiredKeys: ['primary'] })) }, { weight: 1, arbitrary: apiBody }),
  }),
  fc.record({
    method: fc.constantFrom('POST', 'DELETE'), path: segment(idLike).map((id) => `/v1/configuration/datasets/${id}`), headers: apiHeaders,
    body: fc.oneof(json(fc.record({ primary: nodeish, force: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] })), apiBody),
  }),
  fc.record({
    method: fc.constant('POST'), path: fc.constant('/v1/configuration/leases'), headers: apiHeaders,
    body: fc.oneof({ weight: 4, arbitrary: json(fc.record({ dataset_id: idLike, node_uuid: nodeish, expires: numberLike }, { requiredKeys: [] })) }, { weight: 1, arbitrary: apiBody }),
  }),
  fc.record({ method: fc.constant('DELETE'), path: segment(idLike).map((id) => `/v1/configuration/leases/${id}`), headers: apiHeaders, body: fc.constant(undefined) }),
  fc.record({ method: fc.constant('GET'), path: apiPath, headers: apiHeaders, body: fc.constant(undefined) }),
);

export const apiCase: fc.Arbitrary<ApiCase> = fc.oneof(
  { weight: 3, arbitrary: routeShaped },
  { weight: 1, arbitrary: fc.record({ method: apiMethod, path: apiPath, headers: apiHeaders, body: apiBody }) },
);

// ---- Docker plugin ----

const opts = fc.oneof(
  fc.dictionary(fc.constantFrom('size', 'SIZE', 'profile', '__proto__', 'constructor', 'other'), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('1G', '64M', '10', '2P', '99999999999999999999T', '1.5G', '-1', ' 100M ', 'lots')) as fc.Arbitrary<unknown>),
  fc.jsonValue({ maxDepth: 2 }),
);
const volumeName = fc.oneof(fc.constantFrom('vol', 'data', '__proto__', 'constructor', '', 'x'.repeat(300)), fc.string({ maxLength: 40 }));

export const pluginBody: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ Name: fc.oneof(volumeName, fc.jsonValue({ maxDepth: 1 })), Opts: opts, ID: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'a', ''), fc.string({ maxLength: 20 })) }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o))) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('null', '[]', '"x"', '{', '') .map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: invalidUtf8 },
  { weight: 1, arbitrary: deeplyNested },
  { weight: 1, arbitrary: huge },
);

export const pluginPath = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('/Plugin.Activate', '/VolumeDriver.Create', '/VolumeDriver.Remove', '/VolumeDriver.Mount', '/VolumeDriver.Unmount', '/VolumeDriver.Path', '/VolumeDriver.Get', '/VolumeDriver.List', '/VolumeDriver.Capabilities') },
  { weight: 1, arbitrary: fc.constantFrom('/', '/VolumeDriver', '/__proto__', '/constructor', '/VolumeDriver.Create/x', '/VolumeDriver.Create?x=1') },
  { weight: 1, arbitrary: segment(fc.string({ maxLength: 30 })).map((s) => `/${s}`) },
);

export const pluginCase = fc.record({ method: fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') }), path: pluginPath, body: pluginBody });

// ---- agent.yml ----

const hostLike = fc.oneof(fc.constantFrom('127.0.0.1', 'control', '::1', ''), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 }));
const yamlDoc = fc.record({
  version: fc.oneof(fc.constant(1), numberLike, fc.jsonValue({ maxDepth: 1 })),
  'control-service': fc.oneof(fc.record({ hostname: hostLike, port: numberLike }, { requiredKeys: [] }), fc.array(fc.record({ hostname: hostLike, port: numberLike }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
  dataset: fc.oneof(fc.record({
    backend: fc.oneof(fc.constantFrom('directory', 'loopback', 'p2p', 'zfs', ''), fc.jsonValue({ maxDepth: 1 })),
    root_path: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
    mount_root: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
    allocation_unit: numberLike,
    compute_instance_id: fc.jsonValue({ maxDepth: 1 }),
    transfer: fc.jsonValue({ maxDepth: 2 }),
  }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 2 })),
  'certificates-dir': fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
  'state-dir': fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
  plugin: fc.oneof(fc.record({ socket: fc.jsonValue({ maxDepth: 1 }), 'api-port': numberLike }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })),
  name: fc.jsonValue({ maxDepth: 1 }),
  'metrics-listen': fc.jsonValue({ maxDepth: 1 }),
}, { requiredKeys: [] });

/** agent.yml text: a near-valid document rendered as YAML, YAML-ish garbage, alias bombs, any text. */
export function agentYmlText(stringify: (v: unknown) => string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: yamlDoc.map((d) => stringify(d)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom(
      'a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n',
      'version: 1\n__proto__: {polluted: 1}\ncontrol-service: {hostname: x}\ndataset: {backend: directory}\n',
      '!!js/function "function(){}"', 'version: !!binary aGVsbG8=', '? [1]\n: 2', '---\n---\n', '\t\tversion: 1', 'version: 1\nversion: 1\n',
      `version: 1\ncontrol-service: {hostname: ${'['.repeat(5000)}}\n`,
    ) },
    { weight: 1, arbitrary: fc.tuple(yamlDoc, fc.nat(), fc.string({ maxLength: 5 })).map(([d, at, junk]) => {
      const text = stringify(d);
      const i = text.length === 0 ? 0 : at % text.length;
      return text.slice(0, i) + junk + text.slice(i);
    }) },
  );
}

// ---- agent channel ----

/** Datasets the channel fuzzing creates first, so reports about them reach every computation. */
export const KNOWN_DATASETS = ['0f0f0f0f-1111-4111-8111-111111111111', '0f0f0f0f-2222-4222-8222-222222222222'] as const;

/** Mostly what the surface expects, sometimes bent: a report is judged whole, so one bad field at a time reaches deepest. */
const bend = <T>(valid: fc.Arbitrary<T>, bent: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: bent });

const PHASES = ['pending', 'creating', 'attaching', 'mounting', 'converged', 'moving-out', 'moving-in', 'waiting-for-lease', 'deleting', 'error'] as const;
const phase = bend(fc.constantFrom(...PHASES), fc.oneof(fc.constantFrom('unreachable', 'bogus', '__proto__'), fc.jsonValue({ maxDepth: 0 })));
const datasetIdLike = bend(fc.constantFrom(...KNOWN_DATASETS), fc.oneof(idLike, fc.jsonValue({ maxDepth: 0 })));
const sizeLike = bend(fc.oneof(fc.constant(null), fc.integer({ min: 64, max: 2 ** 20 }).map((m) => m * 1024 * 1024)), numberLike);
// Instants are where finite-but-absurd numbers hurt (a Date cannot hold them): bend them often.
const sinceLike = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }) },
  { weight: 2, arbitrary: fc.oneof(fc.constantFrom(8.64e15, 8.64e15 + 1, -8.64e15 - 1, 1e300, -1e300, Number.MAX_VALUE, 2 ** 53, -1, '__INF__'), fc.double({ noNaN: true })) },
  { weight: 1, arbitrary: numberLike },
);
const text = (n: number): fc.Arbitrary<unknown> => bend(fc.string({ maxLength: n }), fc.jsonValue({ maxDepth: 1 }));
const list = <T>(item: fc.Arbitrary<T>): fc.Arbitrary<unknown> => bend(fc.array(item, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }));
const report = fc.record({
  manifestations: list(fc.record({ datasetId: datasetIdLike, path: text(40), maximumSize: sizeLike })),
  nonManifest: list(fc.record({ datasetId: datasetIdLike, maximumSize: sizeLike })),
  progress: list(fc.record({ datasetId: datasetIdLike, phase, reason: text(60), since: sinceLike, lastError: text(40) }, { requiredKeys: ['datasetId', 'phase', 'reason', 'since'] })),
  extra: fc.jsonValue({ maxDepth: 1 }),
}, { requiredKeys: ['manifestations', 'nonManifest', 'progress'] });

/** Channel messages: near-valid hello and report, unknown types, garbage. */
export const channelMessage: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ type: fc.constant('hello'), version: fc.oneof(fc.constant(1), numberLike), era: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: ['type'] }).map((m) => JSON.stringify(m)) },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('report'), report: fc.oneof(report, fc.jsonValue({ maxDepth: 2 })) }).map((m) => JSON.stringify(m).replaceAll('"__INF__"', '1e400')) },
  { weight: 1, arbitrary: fc.record({ type: fc.oneof(fc.constantFrom('cluster', 'refused', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 0 })) }).map((m) => JSON.stringify(m)) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 100 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null')) },
);
