// Both ends of the agent channel check every message against one compiled schema before it
// becomes a typed value: a malformed message is refused (and the caller logs the problem),
// never trusted. Objects stay open, so a newer peer's additive fields pass through.
import { PHASES } from '../model/cluster-state.js';
import { compileCheck, problemLines } from '../validate.js';
import { CHANNEL_VERSION, type AgentMessage, type ControlMessage } from './channel.js';

const str = { type: 'string' } as const;
const num = { type: 'number' } as const;
const size = { type: ['integer', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
/** Epoch ms within what a Date can hold (±8.64e15): a `since` beyond it made every later convergence computation throw. */
const instant = { type: 'number', minimum: 0, maximum: 8.64e15 } as const;
const count = { type: 'number', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const record = (value: object): object => ({ type: 'object', additionalProperties: value });

const report = {
  type: 'object',
  required: ['manifestations', 'nonManifest', 'progress'],
  properties: {
    manifestations: {
      type: 'array',
      items: { type: 'object', required: ['datasetId', 'path', 'maximumSize'], properties: { datasetId: str, path: str, maximumSize: size } },
    },
    nonManifest: {
      type: 'array',
      items: { type: 'object', required: ['datasetId', 'maximumSize'], properties: { datasetId: str, maximumSize: size } },
    },
    progress: {
      type: 'array',
      items: {
        type: 'object',
        required: ['datasetId', 'phase', 'reason', 'since'],
        properties: {
          datasetId: str, phase: { enum: [...PHASES] }, reason: str, since: instant, lastError: str,
          transfer: { type: 'object', required: ['bytesDone', 'bytesTotal', 'bytesPerSecond'], properties: { bytesDone: count, bytesTotal: count, bytesPerSecond: count } },
        },
      },
    },
    // What each volume held or seen free is (for `flocker adopt`).
    manifests: {
      type: 'array',
      items: {
        type: 'object',
        required: ['datasetId', 'maximumSize', 'metadata', 'held'],
        properties: { datasetId: str, maximumSize: size, held: { type: 'boolean' }, metadata: record(str) },
      },
    },
    // p2p only.
    replicas: { type: 'array', items: { type: 'object', required: ['datasetId', 'snapshot'], properties: { datasetId: str, snapshot: str } } },
    handedOff: { type: 'array', items: { type: 'object', required: ['datasetId', 'to', 'snapshot'], properties: { datasetId: str, to: str, snapshot: str } } },
  },
} as const;

// One branch per message type; an unknown type fails the enum and nothing else.
const when = (type: string, then: object): object => ({ if: { required: ['type'], properties: { type: { const: type } } }, then });

const agentMessage = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['hello', 'report', 'resync'] } },
  allOf: [
    when('hello', {
      required: ['version', 'era'],
      properties: {
        version: { const: CHANNEL_VERSION },
        era: { type: 'string', minLength: 1, maxLength: 200 },
        name: { type: 'string', minLength: 1, maxLength: 63 },
        // An IPv4/IPv6 address (with zone) or a DNS name: what peers will dial.
        address: { type: 'string', pattern: '^[A-Za-z0-9.:%_-]{1,253}$', description: 'an IP address or a DNS name' },
        transferPort: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    }),
    when('report', { required: ['report'], properties: { report } }),
  ],
} as const;

const dataset = {
  type: 'object',
  required: ['datasetId', 'primary', 'deleted', 'maximumSize', 'metadata'],
  properties: { datasetId: str, primary: str, deleted: { type: 'boolean' }, maximumSize: size, metadata: record(str) },
} as const;
const lease = {
  type: 'object',
  required: ['datasetId', 'nodeId', 'expiresAt'],
  properties: { datasetId: str, nodeId: str, expiresAt: size },
} as const;
const nodeState = {
  type: 'object',
  required: ['uuid', 'host', 'era', 'lastSeen', 'connected', 'report'],
  properties: {
    uuid: str, host: str, era: str, lastSeen: num, connected: { type: 'boolean' }, name: str, transferPort: { type: 'integer' },
    report: { if: { type: 'null' }, else: report },
  },
} as const;

/** protocol/delta.ts: records to set by key, keys to remove. */
const recordDelta = (value: object): object => ({
  type: 'object',
  properties: { set: record(value), remove: { type: 'array', items: str } },
});

const controlMessage = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['cluster', 'delta', 'refused'] } },
  allOf: [
    when('cluster', {
      required: ['generation', 'configuration', 'cluster', 'now'],
      properties: {
        generation: { type: 'integer' },
        configuration: { type: 'object', required: ['datasets', 'leases'], properties: { datasets: record(dataset), leases: record(lease) } },
        cluster: { type: 'object', required: ['nodes'], properties: { nodes: record(nodeState) } },
        now: num,
      },
    }),
    when('delta', {
      required: ['from', 'generation', 'changes', 'now'],
      properties: {
        from: { type: 'integer' },
        generation: { type: 'integer' },
        now: num,
        changes: {
          type: 'object',
          properties: { datasets: recordDelta(dataset), leases: recordDelta(lease), nodes: recordDelta(nodeState) },
        },
      },
    }),
    when('refused', { required: ['reason'], properties: { reason: str } }),
  ],
} as const;

export type Parsed<T> = { readonly ok: true; readonly message: T } | { readonly ok: false; readonly problem: string };

function parser<T>(schema: object): (text: string) => Parsed<T> {
  const check = compileCheck<T>(schema);
  return (text) => {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return { ok: false, problem: 'not JSON' };
    }
    const r = check(data);
    return r.ok ? { ok: true, message: r.value } : { ok: false, problem: problemLines(r.problems, 'message').join('; ') };
  };
}

/** What control accepts from an agent. */
export const parseAgentMessage = parser<AgentMessage>(agentMessage);
/** What an agent accepts from control. */
export const parseControlMessage = parser<ControlMessage>(controlMessage);
