// The operator CLI's and dashboard's way in: a certificates folder holding cluster.crt,
// USER.crt and USER.key (flockerctl's --certs-path/--user convention).
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { readTextOrExplain } from '../read-text.js';
import { createControlClient } from './control-client.js';
import type { ControlAddress, ControlClient } from './types.js';

export interface CertsDirOptions {
  readonly host: string;
  readonly port: number;
  readonly fallbacks?: readonly ControlAddress[];
  readonly onFailover?: (to: string, from: string, reason: string) => void;
  readonly certsPath: string;
  readonly user: string;
  readonly timeoutMs?: number;
}

export function clientFromCertsDir(o: CertsDirOptions): ControlClient {
  const dir = resolve(o.certsPath);
  const read = (name: string): string => readTextOrExplain(
    join(dir, name),
    `point --certs-path at the folder holding cluster.crt, ${o.user}.crt and ${o.user}.key, and choose the user with --user`,
    ':',
  );
  const caCert = read('cluster.crt');
  const cert = read(`${o.user}.crt`);
  const key = read(`${o.user}.key`);
  try {
    return createControlClient({
      host: o.host, port: o.port, caCert, cert, key,
      ...(o.fallbacks !== undefined ? { fallbacks: o.fallbacks } : {}),
      ...(o.onFailover !== undefined ? { onFailover: o.onFailover } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    });
  } catch (e) {
    if (e instanceof UserError) {
      throw new UserError(`${join(dir, `${o.user}.crt`)} / ${o.user}.key / cluster.crt: ${e.message}`);
    }
    throw e;
  }
}
