// Shared set-up for the transfer tests: a cluster's certificates, TLS material per identity, and a
// logger that keeps its lines so a test can see what was logged.
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { TlsMaterial } from '../../src/tls/options.js';
import type { CertPair, TestCerts } from '../support/certs.js';

export function material(c: TestCerts, pair: CertPair): TlsMaterial {
  const read = (p: string): string => readFileSync(p, 'utf8');
  return { caCert: read(c.caCert), cert: read(pair.cert), key: read(pair.key) };
}

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: { level: number; msg: string; [k: string]: unknown }[];
  has(re: RegExp): boolean;
}

export function capturingLogger(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as CapturedLog['lines'][number]) });
  return { log, lines, has: (re) => lines.some((l) => re.test(l.msg)) };
}
