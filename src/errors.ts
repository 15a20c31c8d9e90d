// Errors are typed by who must act. A UserError is the user's to fix: printed as one line,
// no stack, non-zero exit. Anything else is our bug: logged with its stack.
export class UserError extends Error {
  override readonly name: string = 'UserError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** A configuration file problem, naming the file and (when known) the key. */
export class ConfigError extends UserError {
  override readonly name = 'ConfigError';
  constructor(readonly file: string, readonly key: string | undefined, problem: string) {
    super(key ? `${file}: ${key}: ${problem}` : `${file}: ${problem}`);
  }
}

/** A peer (control service, Docker, a socket) could not be reached. */
export class UnreachableError extends UserError {
  override readonly name = 'UnreachableError';
  constructor(readonly what: string, readonly address: string, cause: string) {
    super(`cannot reach ${what} at ${address}: ${cause}`);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
