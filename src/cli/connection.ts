// The connection flags shared by the operator CLI and the dashboard (CONTRACT.md), with their
// FLOCKER_* environment variables. Flags win over the environment, the environment over defaults.
import { Option } from 'clipanion';
import { resolve } from 'node:path';
import { BaseCommand } from './base-command.js';
import { UserError } from '../errors.js';
import type { ControlAddress } from '../client/types.js';

export interface ConnectionSettings {
  /** The first control service; `fallbacks` are tried in order when it can't be reached. */
  readonly host: string;
  readonly port: number;
  readonly fallbacks: readonly ControlAddress[];
  /** Says on stderr which control service is used after a fail-over. */
  readonly warn: (line: string) => void;
  readonly certsPath: string;
  readonly user: string;
}

export abstract class ConnectedCommand extends BaseCommand {
  controlService = Option.String('--control-service', {
    description: 'Control service HOST or HOST:PORT, or several separated by commas, tried in order (env FLOCKER_CONTROL_SERVICE, default 127.0.0.1)',
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
    const [first, ...fallbacks] = parseControlServices(this.controlService ?? env['FLOCKER_CONTROL_SERVICE'] ?? '127.0.0.1', port);
    const stderr = this.context.stderr;
    return {
      host: first!.host,
      port: first!.port,
      fallbacks,
      warn: (line) => { stderr.write(`flocker: ${line}\n`); },
      certsPath: resolve(this.certsPath ?? env['FLOCKER_CERTS_PATH'] ?? '.'),
      user: this.user ?? env['FLOCKER_USER'] ?? 'user',
    };
  }
}

/**
 * `a,b:4623,[::1]:4523,fe80::1`: each entry HOST or HOST:PORT (an IPv6 address with a port goes
 * in brackets); the port defaults to --control-port.
 */
export function parseControlServices(text: string, defaultPort: number): ControlAddress[] {
  return text.split(',').map((raw) => {
    const entry = raw.trim();
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? /^([^:\s]+)(?::(\d+))?$/.exec(entry) ?? /^([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)()$/.exec(entry);
    if (!m || m[1] === '') {
      throw new UserError(`--control-service: ${JSON.stringify(entry)} is not HOST or HOST:PORT (several go separated by commas)`);
    }
    const port = m[2] ? Number(m[2]) : defaultPort;
    if (port < 1 || port > 65535) throw new UserError(`--control-service: the port in ${JSON.stringify(entry)} must be from 1 to 65535`);
    return { host: m[1]!, port };
  });
}
