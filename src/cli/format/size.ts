// Sizes as flockerctl reads and prints them: binary units, a bare number is bytes.
import { UserError } from '../../errors.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10,
  m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20,
  g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30,
  t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40,
};

/** "10G", "1.5gib", "512M", "1073741824" -> bytes (an integer). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UserError(`malformed size specification ${JSON.stringify(text)}: use a number with an optional unit k, m, g or t (binary), e.g. 10G`);
  }
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UserError(`size ${JSON.stringify(text)} must be a positive number of bytes`);
  }
  return bytes;
}

/** flockerctl's SIZE column: GiB with two decimals, or "<no quota>". */
export function formatSizeGiB(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null) return '<no quota>';
  return `${(bytes / 2 ** 30).toFixed(2)}G`;
}

/** Compact human size for narrow columns: "512M", "10G", "1.5T". */
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
