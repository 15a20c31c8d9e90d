// Metadata as flockerctl takes it on the command line: "a=b,c=d".
import { UserError } from '../../errors.js';

export function parseMetadata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text.trim() === '') return out;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (key === '') {
      throw new UserError(`malformed metadata specification ${JSON.stringify(text)}: expected key=value pairs separated by commas, e.g. name=web,tier=db`);
    }
    out[key] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function formatMetadata(metadata: Readonly<Record<string, string>>): string {
  return Object.entries(metadata).map(([k, v]) => `${k}=${v}`).join(',');
}
