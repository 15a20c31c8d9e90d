// The connection flags shared by the operator CLI and the dashboard (CONTRACT.md), with their
// FLOCKER_* environment variables. Flags win over the environment, the environment over defaults.
import { Option } from 'clipanion';
import { resolve } from 'node:path';
import { BaseCommand } from './base-command.js';
import { UserError } from '../errors.js';

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly certsPath: string;
  readonly user: string;
}

export abstract class ConnectedCommand extends BaseCommand {
  controlService = Option.String('--control-service', {
    description: 'Control service host (env FLOCKER_CONTROL_SERVICE, default 127.0.0.1)',
  });
  controlPort = Option.String('--control-port', {
    description: 'REST API port (env FLOCKER_CONTROL_PORT, default 4523)',
  });
  certsPath = Option.String('--certs-path', {
    description: 'Folder holding cluster.crt, USER.crt, USER.key (env FLOCKER_CERTS_PATH, default .)',
  });
  user = Option.String('--user', { description: 'API user whose certificate to use (env FLOCKER_USER, default user)' });

  connection(): ConnectionSettings {
    const env = this.context.env;
    const portText = this.controlPort ?? env['FLOCKER_CONTROL_PORT'] ?? '4523';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UserError(`--control-port must be a port number from 1 to 65535, got ${JSON.stringify(portText)}`);
    }
    return {
      host: this.controlService ?? env['FLOCKER_CONTROL_SERVICE'] ?? '127.0.0.1',
      port,
      certsPath: resolve(this.certsPath ?? env['FLOCKER_CERTS_PATH'] ?? '.'),
      user: this.user ?? env['FLOCKER_USER'] ?? 'user',
    };
  }
}
