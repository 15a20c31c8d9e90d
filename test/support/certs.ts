// Certificate fixtures for tests: a real cluster CA and real certificates (2048-bit keys for
// speed), made with the same code as `flocker ca`.
//
// makeCerts(dir) writes into `dir`:
//   cluster.crt, cluster.key                  the CA
//   control-service.crt, control-service.key  the control service (SAN control-service + controlHost)
//   USER.crt, USER.key                        one per opts.users (default ['user'])
//   plugin.crt, plugin.key                    the Docker plugin's API user (CN user-plugin)
//   nodes/<uuid>/                             one per node: a complete certificates-dir for an agent
//     cluster.crt, node.crt, node.key, plugin.crt, plugin.key
// So `dir` itself is a control service certificates dir and a CLI --certs-path (user "user").
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createAuthority, issueControlCertificate, issueNodeCertificate, issueUserCertificate, writeIssued,
} from '../../src/tls/ca.js';

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestNodeCerts extends CertPair {
  uuid: string;
  /** nodes/<uuid>: cluster.crt, node.crt, node.key, plugin.crt, plugin.key (agent.yml's certificates-dir). */
  certificatesDir: string;
}

export interface TestCerts {
  dir: string;
  clusterUuid: string;
  /** Paths. */
  caCert: string;
  caKey: string;
  control: CertPair;
  nodes: TestNodeCerts[];
  users: Record<string, CertPair>;
  plugin: CertPair;
}

const TEST_KEY_BITS = 2048;

export async function makeCerts(
  dir: string,
  opts: { nodes?: number; users?: string[]; controlHost?: string } = {},
): Promise<TestCerts> {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const keyOpts = { keyBits: TEST_KEY_BITS };
  const ca = await createAuthority('test-cluster', keyOpts);
  const caFiles = writeIssued(root, 'cluster', ca);
  const userNames = opts.users ?? ['user'];
  // Key generation runs on libuv's thread pool: issue everything at once.
  const [controlIssued, userIssued, pluginIssued, nodeIssued] = await Promise.all([
    issueControlCertificate(ca, opts.controlHost ?? '127.0.0.1', keyOpts),
    Promise.all(userNames.map((name) => issueUserCertificate(ca, name, keyOpts))),
    userNames.includes('plugin') ? undefined : issueUserCertificate(ca, 'plugin', keyOpts),
    Promise.all(Array.from({ length: opts.nodes ?? 1 }, () => issueNodeCertificate(ca, keyOpts))),
  ]);
  const control = writeIssued(root, 'control-service', controlIssued);
  const users: Record<string, CertPair> = {};
  userNames.forEach((name, i) => {
    users[name] = writeIssued(root, name, userIssued[i]!);
  });
  const plugin = users['plugin'] ?? writeIssued(root, 'plugin', pluginIssued!);
  const nodes: TestNodeCerts[] = [];
  for (const issued of nodeIssued) {
    const certificatesDir = join(root, 'nodes', issued.uuid);
    mkdirSync(certificatesDir, { recursive: true });
    const files = writeIssued(certificatesDir, 'node', issued);
    copyFileSync(caFiles.cert, join(certificatesDir, 'cluster.crt'));
    copyFileSync(plugin.cert, join(certificatesDir, 'plugin.crt'));
    copyFileSync(plugin.key, join(certificatesDir, 'plugin.key'));
    nodes.push({ uuid: issued.uuid, ...files, certificatesDir });
  }
  return { dir: root, clusterUuid: ca.clusterUuid, caCert: caFiles.cert, caKey: caFiles.key, control, nodes, users, plugin };
}
