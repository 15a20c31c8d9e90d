// --metrics-listen ADDR:PORT (or just PORT, bound to 127.0.0.1: metrics say a lot about a cluster
// and are served without TLS, so exposing them beyond the machine must be asked for).
import { isIP } from 'node:net';
import { UserError } from '../errors.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function parseMetricsListen(text: string, where = '--metrics-listen'): ListenAddress {
  const bad = (why: string): UserError =>
    new UserError(`${where} ${JSON.stringify(text)}: ${why} (expected ADDR:PORT such as 127.0.0.1:9101, [::1]:9101 or just a PORT)`);
  let host = '127.0.0.1';
  let portText = text;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) throw bad(`${host} is not an IPv6 address`);
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (host === '' || host.includes(':')) throw bad('write an IPv6 address in brackets');
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad('the port must be a number from 0 to 65535');
  return { host, port: Number(portText) };
}
