// PURE. Sizes as Flocker's tools read and print them: binary units (k, m, g, t with optional
// b/ib, case-insensitive); a bare number is bytes. The CLI (flockerctl) admits decimals, the
// Docker plugin (the original's grammar) only whole numbers. Each audience words the problems
// its own way; the grammar and the dataset-size rules live here once.
import { MAXIMUM_MAXIMUM_SIZE, MINIMUM_MAXIMUM_SIZE } from './configuration.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10,
  m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20,
  g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30,
  t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40,
};

const WHOLE = /^\s*(\d+)\s*([a-z]*)\s*$/i;
const DECIMAL = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i;

export type SizeProblem = 'malformed' | 'not-positive' | 'too-large';
export type SizeParse = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly problem: SizeProblem };

export function parseSize(text: string, opts: { readonly decimals: boolean }): SizeParse {
  const m = (opts.decimals ? DECIMAL : WHOLE).exec(text);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) return { ok: false, problem: 'malformed' };
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) return { ok: false, problem: 'too-large' };
  if (bytes <= 0) return { ok: false, problem: 'not-positive' };
  return { ok: true, bytes };
}

export type DatasetSizeParse =
  | { readonly ok: true; readonly bytes: number }
  | { readonly ok: false; readonly problem: SizeProblem | 'too-small' | 'not-whole-kib' };

/**
 * A dataset's maximum size as the API accepts it: 64 MiB to 1 PiB, whole KiB. `roundUp` (the
 * CLI) rounds up to whole KiB so "1.3G" never gets less room than asked for; without it (the
 * plugin, as the original) an odd size is refused.
 */
export function parseDatasetSize(text: string, opts: { readonly decimals: boolean; readonly roundUp: boolean }): DatasetSizeParse {
  const r = parseSize(text, opts);
  if (!r.ok) return r;
  const bytes = opts.roundUp ? Math.ceil(r.bytes / 1024) * 1024 : r.bytes;
  if (bytes < MINIMUM_MAXIMUM_SIZE) return { ok: false, problem: 'too-small' };
  if (bytes > MAXIMUM_MAXIMUM_SIZE) return { ok: false, problem: 'too-large' };
  if (bytes % 1024 !== 0) return { ok: false, problem: 'not-whole-kib' };
  return { ok: true, bytes };
}

/**
 * - `short`: compact, for narrow columns: "512M", "10G", "1.5T";
 * - `gib`: flockerctl's SIZE column: GiB with two decimals, "50.00G";
 * - `exact`: for sentences, the largest unit that divides exactly: "10 GiB", "1536 MiB".
 */
export type SizeStyle = 'short' | 'gib' | 'exact';

const SHORT_UNITS = ['B', 'K', 'M', 'G', 'T', 'P'];
const EXACT_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatSize(bytes: number, style: SizeStyle): string {
  if (style === 'gib') return `${(bytes / 2 ** 30).toFixed(2)}G`;
  const exact = style === 'exact';
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < SHORT_UNITS.length - 1 && (!exact || v % 1024 === 0)) {
    v /= 1024;
    i += 1;
  }
  if (exact) return `${v} ${EXACT_UNITS[i]}`;
  const text = v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '');
  return `${text}${SHORT_UNITS[i]}`;
}
