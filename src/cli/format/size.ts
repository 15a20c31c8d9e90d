// `--size` as flockerctl reads it (decimals allowed, rounded up to whole KiB), worded for the CLI.
import { UserError } from '../../errors.js';
import { parseDatasetSize } from '../../model/size.js';
import { MAXIMUM_MAXIMUM_SIZE, MINIMUM_MAXIMUM_SIZE } from '../../model/configuration.js';

/** "10G", "1.3gib", "512M", "1073741824" -> bytes the API accepts, or a one-line UserError. */
export function datasetSizeOption(text: string): number {
  const r = parseDatasetSize(text, { decimals: true, roundUp: true });
  if (r.ok) return r.bytes;
  switch (r.problem) {
    case 'malformed':
      throw new UserError(`malformed size specification ${JSON.stringify(text)}: use a number with an optional unit k, m, g or t (binary), e.g. 10G`);
    case 'too-small':
    case 'not-whole-kib': // rounding up made it whole
      throw new UserError(`size ${JSON.stringify(text)} is too small: a dataset must be at least 64M (${MINIMUM_MAXIMUM_SIZE} bytes)`);
    case 'not-positive':
      throw new UserError(`size ${JSON.stringify(text)} must be a positive number of bytes`);
    case 'too-large':
      throw new UserError(`size ${JSON.stringify(text)} is too large: a dataset may be at most 1P (${MAXIMUM_MAXIMUM_SIZE} bytes)`);
  }
}
