// The last meaningful line of a child's log: what to show when it dies. Logs are pino JSON
// lines, so prefer the `msg` (and `err.message`) of the last one over raw JSON.
import { readFileSync } from 'node:fs';

export function lastMeaningfulLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = lines.at(-1);
  if (line === undefined) return undefined;
  try {
    const j = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown } };
    const msg = typeof j.msg === 'string' ? j.msg : undefined;
    const err = typeof j.err?.message === 'string' ? j.err.message : undefined;
    if (msg || err) return [msg, err].filter(Boolean).join(': ');
  } catch {
    // not JSON: a plain line such as "flocker: ..." from a UserError
  }
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

export function tailOf(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    return lastMeaningfulLine(text.slice(-8192));
  } catch {
    return undefined;
  }
}
