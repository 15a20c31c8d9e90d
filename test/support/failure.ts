// For tests that expect a promise to reject and then inspect the error.

/** The error `p` rejects with; throws if it resolves instead. */
export async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}
