// Structural checks of what agents send: a malformed report must never reach the hub, where it
// would break every later state computation.
import { Ajv, type ValidateFunction } from 'ajv';
import { PHASES, type NodeReport } from '../../model/cluster-state.js';
import { CHANNEL_VERSION } from '../../protocol/channel.js';

const str = { type: 'string' } as const;
const size = { type: ['integer', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
/** Epoch ms within what a Date can hold (±8.64e15): a `since` beyond it made every later convergence computation throw. */
const instant = { type: 'number', minimum: 0, maximum: 8.64e15 } as const;

const reportSchema = {
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
        properties: { datasetId: str, phase: { enum: [...PHASES] }, reason: str, since: instant, lastError: str },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validReport: ValidateFunction = ajv.compile(reportSchema);

export type CheckedAgentMessage =
  | { type: 'hello'; era: string; address?: string; transferPort?: number }
  | { type: 'report'; report: NodeReport }
  | { type: 'resync' }
  | { type: 'invalid'; problem: string };

export function checkAgentMessage(text: string): CheckedAgentMessage {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return { type: 'invalid', problem: 'not JSON' };
  }
  const o = m as { type?: unknown; version?: unknown; era?: unknown; address?: unknown; transferPort?: unknown; report?: unknown } | null;
  if (o === null || typeof o !== 'object') return { type: 'invalid', problem: 'not an object' };
  if (o.type === 'hello') {
    if (o.version !== CHANNEL_VERSION) return { type: 'invalid', problem: `unsupported channel version ${String(o.version)}` };
    if (typeof o.era !== 'string' || o.era.length === 0 || o.era.length > 200) return { type: 'invalid', problem: 'hello without an era' };
    // An IPv4/IPv6 address (with zone) or a DNS name: what peers will dial.
    if (o.address !== undefined && (typeof o.address !== 'string' || !/^[A-Za-z0-9.:%_-]{1,253}$/.test(o.address))) {
      return { type: 'invalid', problem: 'hello with a malformed address' };
    }
    if (o.transferPort !== undefined && (typeof o.transferPort !== 'number' || !Number.isInteger(o.transferPort) || o.transferPort < 1 || o.transferPort > 65535)) {
      return { type: 'invalid', problem: 'hello with a transferPort that is not a port number' };
    }
    return {
      type: 'hello', era: o.era,
      ...(typeof o.address === 'string' ? { address: o.address } : {}),
      ...(typeof o.transferPort === 'number' ? { transferPort: o.transferPort } : {}),
    };
  }
  if (o.type === 'report') {
    if (!validReport(o.report)) return { type: 'invalid', problem: `malformed report: ${ajv.errorsText(validReport.errors)}` };
    return { type: 'report', report: o.report as NodeReport };
  }
  if (o.type === 'resync') return { type: 'resync' };
  return { type: 'invalid', problem: `unknown message type ${JSON.stringify(o.type)}` };
}
