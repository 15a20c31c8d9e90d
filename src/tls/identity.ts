// Who a certificate speaks for. Flocker identifies peers only by the subject: CN `node-<uuid>`
// (an agent), `user-<name>` (an API user), `control-service`; OU = the cluster UUID.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { UserError } from '../errors.js';
import { fsReason } from '../read-text.js';
import { isUuid } from '../model/ids.js';

/** The name every control certificate carries, and the one clients check (whatever host they dialled). */
export const CONTROL_COMMON_NAME = 'control-service';

export type PeerKind = 'node' | 'user' | 'control' | 'other';

export interface Identity {
  readonly cn: string;
  readonly kind: PeerKind;
  /** Lower-case; only for a `node-<uuid>` CN whose suffix is a UUID. */
  readonly nodeUuid?: string;
  /** Only for a `user-<name>` CN. */
  readonly username?: string;
  /** The subject's OU, which Flocker sets to the cluster UUID. */
  readonly clusterUuid?: string;
}

/** Node's certificate objects give a field as a string, or an array when it repeats. */
type SubjectField = string | readonly string[] | undefined;

function first(v: SubjectField): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

export function identityFromSubject(cn: string, ou?: string): Identity {
  const clusterUuid = ou ? { clusterUuid: ou } : {};
  if (cn.startsWith('node-')) {
    const rest = cn.slice('node-'.length);
    return { cn, kind: 'node', ...(isUuid(rest) ? { nodeUuid: rest.toLowerCase() } : {}), ...clusterUuid };
  }
  if (cn.startsWith('user-')) return { cn, kind: 'user', username: cn.slice('user-'.length), ...clusterUuid };
  if (cn === CONTROL_COMMON_NAME) return { cn, kind: 'control', ...clusterUuid };
  return { cn, kind: 'other', ...clusterUuid };
}

/**
 * From a TLS peer (socket.getPeerCertificate()). Undefined when the peer sent no certificate
 * (Node then returns an empty object).
 */
export function identityFromPeer(peer: Pick<PeerCertificate, 'subject'> | null | undefined): Identity | undefined {
  const subject = peer?.subject as Record<string, SubjectField> | undefined;
  if (!subject) return undefined;
  const cn = first(subject['CN']);
  if (cn === undefined) return undefined;
  return identityFromSubject(cn, first(subject['OU']));
}

/** From PEM text (the first certificate in it). */
export function identityFromPem(pem: string, source = 'certificate'): Identity {
  let legacy: PeerCertificate;
  try {
    legacy = new X509Certificate(pem).toLegacyObject();
  } catch {
    throw new UserError(`${source} is not a PEM X.509 certificate`);
  }
  const id = identityFromPeer(legacy);
  if (!id) throw new UserError(`${source} has no subject common name (CN)`);
  return id;
}

/** The node UUID from node.crt (CN node-<uuid>), as the agent and plugin learn who they are. */
export function readNodeUuid(nodeCertPath: string): string {
  const path = resolve(nodeCertPath);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read the node certificate ${path}: ${fsReason(e)}`);
  }
  const id = identityFromPem(pem, path);
  if (id.kind !== 'node' || !id.nodeUuid) {
    throw new UserError(`${path} is not a node certificate: its CN is ${JSON.stringify(id.cn)}, expected node-<uuid> (make one with \`flocker ca create-node-certificate\`)`);
  }
  return id.nodeUuid;
}
