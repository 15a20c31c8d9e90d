// `docker volume create -o size=…`: the original's grammar (digits, then an optional binary unit,
// case-insensitive). Where the original silently fell back to 75 GiB on anything it could not
// parse, we refuse: a typo should not quietly allocate a volume a thousand times too big.

import { DEFAULT_MAXIMUM_SIZE, MAXIMUM_MAXIMUM_SIZE, MINIMUM_MAXIMUM_SIZE as MINIMUM_SIZE } from '../../model/configuration.js';
import { parseSizeText } from '../../model/size.js';

export { DEFAULT_MAXIMUM_SIZE };

export type SizeResult = { ok: true; bytes: number } | { ok: false; error: string };

/** Parse a size option; the error is a sentence fit for Docker's `Err`. */
export function parseSize(text: string): SizeResult {
  const r = parseSizeText(text, { decimals: false });
  if (!r.ok) {
    if (r.problem === 'too-large') return { ok: false, error: `invalid size ${JSON.stringify(text)}: too large` };
    if (r.problem === 'not-positive') return tooSmall(text);
    return { ok: false, error: `invalid size ${JSON.stringify(text)}: expected a whole number with an optional unit k, m, g or t (binary; e.g. 100M, 10GiB)` };
  }
  const bytes = r.bytes;
  if (bytes < MINIMUM_SIZE) return tooSmall(text);
  if (bytes > MAXIMUM_MAXIMUM_SIZE) return { ok: false, error: `size ${JSON.stringify(text)} is too large: a Flocker volume may be at most 1 PiB (${MAXIMUM_MAXIMUM_SIZE} bytes)` };
  if (bytes % 1024 !== 0) {
    return { ok: false, error: `size ${JSON.stringify(text)} is not a multiple of 1024 bytes, as Flocker requires` };
  }
  return { ok: true, bytes };
}

function tooSmall(text: string): SizeResult {
  return { ok: false, error: `size ${JSON.stringify(text)} is too small: a Flocker volume must be at least 64 MiB (${MINIMUM_SIZE} bytes)` };
}
