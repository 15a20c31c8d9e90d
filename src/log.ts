// One structured logger (pino, JSON lines on stderr). Roles receive a child logger; nothing else
// configures logging. FLOCKER_LOG_LEVEL overrides the level (trace..fatal, silent).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(role: string, level: string = process.env.FLOCKER_LOG_LEVEL ?? 'info'): Logger {
  // Synchronous destination: no worker-thread transports, which a single executable cannot load.
  return pino({ level, base: { role, pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything; for unit tests of code that takes a Logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
