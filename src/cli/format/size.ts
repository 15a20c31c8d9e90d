// Sizes as flockerctl reads and prints them: binary units, a bare number is bytes.
import { UserError } from '../../errors.js';
import { parseSizeText } from '../../model/size.js';
import { MAXIMUM_MAXIMUM_SIZE, MINIMUM_MAXIMUM_SIZE } from '../../model/configuration.js';

/** "10G", "1.5gib", "512M", "1073741824" -> bytes (an integer). */
export function parseSize(text: string): number {
  const r = parseSizeText(text, { decimals: true });
  if (r.ok) return r.bytes;
  if (r.problem === 'malformed') {
    throw new UserError(`malformed size specification ${JSON.stringify(text)}: use a number with an optional unit k, m, g or t (binary), e.g. 10G`);
  }
  throw new UserError(`size ${JSON.stringify(text)} must be a positive number of bytes`);
}

/**
 * A dataset's maximum size from the command line: at least 64 MiB (the API's floor, said here in
 * words rather than as a schema error), rounded up to whole KiB as the API requires — so "1.3G"
 * works and never gets less room than asked for.
 */
export function parseDatasetSize(text: string): number {
  const bytes = Math.ceil(parseSize(text) / 1024) * 1024;
  if (bytes < MINIMUM_MAXIMUM_SIZE) {
    throw new UserError(`size ${JSON.stringify(text)} is too small: a dataset must be at least 64M (${MINIMUM_MAXIMUM_SIZE} bytes)`);
  }
  if (bytes > MAXIMUM_MAXIMUM_SIZE) {
    throw new UserError(`size ${JSON.stringify(text)} is too large: a dataset may be at most 1P (${MAXIMUM_MAXIMUM_SIZE} bytes)`);
  }
  return bytes;
}

/** flockerctl's SIZE column: GiB with two decimals, or "<no quota>". */
export function formatSizeGiB(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null) return '<no quota>';
  return `${(bytes / 2 ** 30).toFixed(2)}G`;
}
