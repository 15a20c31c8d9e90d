// The agent's client TLS: our node certificate, trust only cluster.crt, and check the server's
// name as `control-service` whatever host we dialled (as src/tls/options.ts clientTlsOptions).
// Kept here because src/tls/options.ts loads the CA code (@peculiar/x509), which costs the agent
// well over a second of startup for nothing it uses.
import { resolve } from 'node:path';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { readTextOrExplain } from '../../read-text.js';

export const CONTROL_SERVICE_NAME = 'control-service';

export function agentTlsOptions(certificatesDir: string, hint: string): ConnectionOptions {
  const read = (name: string): string => readTextOrExplain(resolve(certificatesDir, name), hint);
  return {
    ca: read('cluster.crt'),
    cert: read('node.crt'),
    key: read('node.key'),
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(CONTROL_SERVICE_NAME, cert),
  };
}
