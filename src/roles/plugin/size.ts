// `docker volume create -o size=…`: the original's grammar (digits, then an optional binary unit,
// case-insensitive). Where the original silently fell back to 75 GiB on anything it could not
// parse, we refuse: a typo should not quietly allocate a volume a thousand times too big.

export const DEFAULT_MAXIMUM_SIZE = 75 * 1024 ** 3; // 80530636800, the original's code default
export const MINIMUM_SIZE = 64 * 1024 * 1024; // the REST API's floor

const UNITS: Record<string, number> = {
  '': 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

export type SizeResult = { ok: true; bytes: number } | { ok: false; error: string };

/** Parse a size option; the error is a sentence fit for Docker's `Err`. */
export function parseSize(text: string): SizeResult {
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    return { ok: false, error: `invalid size ${JSON.stringify(text)}: expected a whole number with an optional unit k, m, g or t (binary; e.g. 100M, 10GiB)` };
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) return { ok: false, error: `invalid size ${JSON.stringify(text)}: too large` };
  if (bytes < MINIMUM_SIZE) {
    return { ok: false, error: `size ${JSON.stringify(text)} is too small: a Flocker volume must be at least 64 MiB (${MINIMUM_SIZE} bytes)` };
  }
  if (bytes % 1024 !== 0) {
    return { ok: false, error: `size ${JSON.stringify(text)} is not a multiple of 1024 bytes, as Flocker requires` };
  }
  return { ok: true, bytes };
}
