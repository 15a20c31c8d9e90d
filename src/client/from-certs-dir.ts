// The operator CLI's and dashboard's way in: a certificates folder holding cluster.crt,
// USER.crt and USER.key (flockerctl's --certs-path/--user convention).
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { readTextOrExplain } from '../read-text.js';
import { createControlClient } from './control-client.js';
import type { ClientOptions, ControlClient } from './types.js';

/** The client's own options, with the folder and user standing in for the PEM texts. */
export interface CertsDirOptions extends Pick<ClientOptions, 'host' | 'port' | 'fallbacks' | 'onFailover' | 'timeoutMs'> {
  readonly certsPath: string;
  readonly user: string;
}

export function clientFromCertsDir({ certsPath, user, ...addressing }: CertsDirOptions): ControlClient {
  const dir = resolve(certsPath);
  const read = (name: string): string => readTextOrExplain(
    join(dir, name),
    `point --certs-path at the folder holding cluster.crt, ${user}.crt and ${user}.key, and choose the user with --user`,
    ':',
  );
  const caCert = read('cluster.crt');
  const cert = read(`${user}.crt`);
  const key = read(`${user}.key`);
  try {
    return createControlClient({ ...addressing, caCert, cert, key });
  } catch (e) {
    if (e instanceof UserError) {
      throw new UserError(`${join(dir, `${user}.crt`)} / ${user}.key / cluster.crt: ${e.message}`);
    }
    throw e;
  }
}
