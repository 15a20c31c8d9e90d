// `docker volume create -o size=…`: the original's grammar (digits, then an optional binary unit,
// case-insensitive). Where the original silently fell back to 75 GiB on anything it could not
// parse, we refuse: a typo should not quietly allocate a volume a thousand times too big.
import { DEFAULT_MAXIMUM_SIZE, MAXIMUM_MAXIMUM_SIZE, MINIMUM_MAXIMUM_SIZE as MINIMUM_SIZE } from '../../model/configuration.js';
import { parseDatasetSize } from '../../model/size.js';

export { DEFAULT_MAXIMUM_SIZE };

export type SizeResult = { ok: true; bytes: number } | { ok: false; error: string };

/** The size option; the error is a sentence fit for Docker's `Err`. */
export function volumeSizeOption(text: string): SizeResult {
  const r = parseDatasetSize(text, { decimals: false, roundUp: false });
  if (r.ok) return r;
  const quoted = JSON.stringify(text);
  switch (r.problem) {
    case 'too-large':
      return { ok: false, error: `size ${quoted} is too large: a Flocker volume may be at most 1 PiB (${MAXIMUM_MAXIMUM_SIZE} bytes)` };
    case 'not-positive':
    case 'too-small':
      return { ok: false, error: `size ${quoted} is too small: a Flocker volume must be at least 64 MiB (${MINIMUM_SIZE} bytes)` };
    case 'not-whole-kib':
      return { ok: false, error: `size ${quoted} is not a multiple of 1024 bytes, as Flocker requires` };
    case 'malformed':
      return { ok: false, error: `invalid size ${quoted}: expected a whole number with an optional unit k, m, g or t (binary; e.g. 100M, 10GiB)` };
  }
}
