// The agent's client TLS: our node certificate, trust only cluster.crt, and check the server's
// name as `control-service` whatever host we dialled. A key that isn't the certificate's, or a
// certificate from another cluster, is one clear line at startup, not a baffling handshake error.
import type { ConnectionOptions } from 'node:tls';
import { clientTlsOptions, readTlsMaterial } from '../../tls/options.js';

export function agentTlsOptions(certificatesDir: string, hint: string): ConnectionOptions {
  return clientTlsOptions(readTlsMaterial(certificatesDir, { cert: 'node.crt', key: 'node.key' }, hint));
}
