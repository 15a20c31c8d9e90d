// Wait on a condition with a deadline, never a fixed sleep: poll `f` until it yields a value
// (anything but undefined or false), or fail saying what was awaited and the last error seen.
// The default deadline is generous because it only bounds a hang: on the shared 2-core machine
// under `npm run bench`, what takes a second alone can take tens of seconds.
export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The opposite wait, for "this must NOT happen": check `ok` throughout a window of `ms`, and
 * fail as soon as it is false. Only for absence (no reconnect, no second message, still
 * mounted); to wait for something, use until().
 */
export async function holdsFor(what: string, ok: () => Promise<boolean> | boolean, ms: number, everyMs = 25): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (!(await ok())) throw new Error(`no longer true: ${what}`);
    if (Date.now() >= end) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
