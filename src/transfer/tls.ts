// TLS for agent-to-agent transfers: both ends present their node certificate and trust only the
// cluster CA. The client also checks that the server is the very node it meant to pull from
// (CN node-<uuid>), whatever address it dialled: any node of the cluster could otherwise
// impersonate another after an address change.
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { identityFromPeer } from '../tls/identity.js';
import type { TlsMaterial } from '../tls/options.js';

export function transferClientTls(m: TlsMaterial, expectedNodeUuid: string): ConnectionOptions {
  const expected = expectedNodeUuid.toLowerCase();
  return {
    ca: m.caCert,
    cert: m.cert,
    key: m.key,
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => {
      const id = identityFromPeer(cert);
      if (id?.nodeUuid === expected) return undefined;
      const e = new Error(`the transfer peer presented ${id ? `CN ${JSON.stringify(id.cn)}` : 'no usable certificate'}, not node-${expected}`) as Error & { code: string };
      e.code = 'ERR_TRANSFER_PEER_IDENTITY';
      return e;
    },
  };
}
