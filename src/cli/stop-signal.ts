// How a long-running role learns it must stop: the first SIGINT or SIGTERM.

export interface StopSignal {
  /** Aborts on the first SIGINT/SIGTERM; its reason is the signal's name. */
  readonly signal: AbortSignal;
  /** Resolves with the signal's name when it comes. */
  readonly stopped: Promise<NodeJS.Signals>;
  /** Stop listening (once the role has stopped for another reason). */
  dispose(): void;
}

export function stopSignal(): StopSignal {
  const ac = new AbortController();
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    ac.signal.addEventListener('abort', () => resolve(ac.signal.reason as NodeJS.Signals), { once: true });
  });
  const onSignal = (name: NodeJS.Signals): void => {
    dispose();
    ac.abort(name);
  };
  function dispose(): void {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: ac.signal, stopped, dispose };
}
