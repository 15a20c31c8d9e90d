// The agent's client TLS: our node certificate, trust only cluster.crt, and check the server's
// name as `control-service` whatever host we dialled (as src/tls/options.ts clientTlsOptions).
// Kept here because src/tls/options.ts loads the CA code (@peculiar/x509), which costs the agent
// well over a second of startup for nothing it uses.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { UserError } from '../../errors.js';

export const CONTROL_SERVICE_NAME = 'control-service';

export function agentTlsOptions(certificatesDir: string, hint: string): ConnectionOptions {
  const read = (name: string): string => {
    const path = resolve(certificatesDir, name);
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code ?? String(e);
      throw new UserError(`cannot read ${path} (${why}); ${hint}`);
    }
  };
  return {
    ca: read('cluster.crt'),
    cert: read('node.crt'),
    key: read('node.key'),
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(CONTROL_SERVICE_NAME, cert),
  };
}
