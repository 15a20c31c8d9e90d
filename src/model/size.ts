// PURE. Sizes as Flocker's tools read and print them: binary units (k, m, g, t with optional
// b/ib, case-insensitive); a bare number is bytes. The CLI (flockerctl) admits decimals, the
// Docker plugin (the original's grammar) only whole numbers.

const UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10,
  m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20,
  g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30,
  t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40,
};

const WHOLE = /^\s*(\d+)\s*([a-z]*)\s*$/i;
const DECIMAL = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i;

export type SizeParse =
  | { readonly ok: true; readonly bytes: number }
  | { readonly ok: false; readonly problem: 'malformed' | 'not-positive' | 'too-large' };

export function parseSizeText(text: string, opts: { readonly decimals: boolean }): SizeParse {
  const m = (opts.decimals ? DECIMAL : WHOLE).exec(text);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) return { ok: false, problem: 'malformed' };
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) return { ok: false, problem: 'too-large' };
  if (bytes <= 0) return { ok: false, problem: 'not-positive' };
  return { ok: true, bytes };
}

/** Compact human size for narrow columns: "512M", "10G", "1.5T"; "-" when unset. */
export function formatSizeShort(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null) return '-';
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  const text = v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '');
  return `${text}${units[i]}`;
}
