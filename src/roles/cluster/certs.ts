// Certificates of a local cluster, made with our own CA module and reused on the next run (so
// node UUIDs, and with them the datasets' placement, survive a restart of `cluster up`).
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CA_CERT_FILE, initializeAuthority, issueControlCertificate, issueNodeCertificate, issueUserCertificate,
  loadAuthority, writeIssued, type Authority,
} from '../../tls/ca.js';
import { readNodeUuid } from '../../tls/identity.js';
import type { ClusterLayout } from './layout.js';

/** A local cluster is a development tool: 2048-bit keys keep startup in seconds. */
const LOCAL_KEY_BITS = 2048;
export const API_USER = 'user';
const PLUGIN_USER = 'plugin';

export interface ClusterCerts {
  readonly clusterUuid: string;
  /** One per node of the layout, in order. */
  readonly nodeUuids: readonly string[];
  /** What was made this time (empty when everything was reused). */
  readonly made: readonly string[];
}

const has = (dir: string, base: string): boolean => existsSync(join(dir, `${base}.crt`)) && existsSync(join(dir, `${base}.key`));

export async function ensureClusterCerts(layout: ClusterLayout, keyBits = LOCAL_KEY_BITS): Promise<ClusterCerts> {
  const dir = layout.certsDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  let ca: Authority;
  if (has(dir, 'cluster')) {
    ca = await loadAuthority(dir);
  } else {
    ca = (await initializeAuthority(dir, 'flocker-local', { keyBits })).authority;
    made.push('cluster CA');
  }
  if (!has(dir, 'control-service')) {
    writeIssued(dir, 'control-service', await issueControlCertificate(ca, '127.0.0.1', { keyBits }));
    made.push('control-service');
  }
  for (const user of [API_USER, PLUGIN_USER]) {
    if (!has(dir, user)) {
      writeIssued(dir, user, await issueUserCertificate(ca, user, { keyBits }));
      made.push(`user ${user}`);
    }
  }
  const nodeUuids: string[] = [];
  for (const node of layout.nodes) {
    mkdirSync(node.certsDir, { recursive: true, mode: 0o700 });
    if (!has(node.certsDir, 'node')) {
      const issued = await issueNodeCertificate(ca, { keyBits });
      writeIssued(node.certsDir, 'node', issued);
      made.push(node.name);
    }
    // What an agent (and its plugin) needs, in the file names agent.yml's certificates-dir promises.
    for (const f of [CA_CERT_FILE, `${PLUGIN_USER}.crt`, `${PLUGIN_USER}.key`]) {
      if (!existsSync(join(node.certsDir, f))) copyFileSync(join(dir, f), join(node.certsDir, f));
    }
    nodeUuids.push(readNodeUuid(join(node.certsDir, 'node.crt')));
  }
  return { clusterUuid: ca.clusterUuid, nodeUuids, made };
}
