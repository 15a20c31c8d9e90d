// The agent's client TLS: our node certificate, trust only cluster.crt, and check the server's
// name as `control-service` whatever host we dialled. A key that isn't the certificate's, or a
// certificate from another cluster, is one clear line at startup, not a baffling handshake error.
import type { ConnectionOptions } from 'node:tls';
import { clientTlsOptions, readTlsMaterial, type TlsMaterial } from '../../tls/options.js';

/** node.crt, node.key and cluster.crt: for the channel to control and, on p2p, for transfers. */
export function nodeTlsMaterial(certificatesDir: string, hint: string): TlsMaterial {
  return readTlsMaterial(certificatesDir, { cert: 'node.crt', key: 'node.key' }, hint);
}

export function agentTlsOptions(certificatesDir: string, hint: string): ConnectionOptions {
  return clientTlsOptions(nodeTlsMaterial(certificatesDir, hint));
}
