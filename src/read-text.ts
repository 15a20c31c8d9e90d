// Reading a file a person pointed us at (a certificate, a configuration): a failure becomes one
// line that names the file, says why in words and how to fix it.
import { readFileSync } from 'node:fs';
import { UserError } from './errors.js';

/** "no such file", "permission denied", … for an fs error. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case undefined: return String(e);
    default: return code;
  }
}

/** The file's text, or a UserError "cannot read PATH (why)SEP HINT". */
export function readTextOrExplain(path: string, hint?: string, sep = ';'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${path} (${fsReason(e)})${hint ? `${sep} ${hint}` : ''}`);
  }
}
