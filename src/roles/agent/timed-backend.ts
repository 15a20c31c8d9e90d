// The agent's storage backend with every asynchronous operation (the ones that touch storage)
// timed for flocker_agent_action_duration_seconds{action,backend,outcome}: the interpreter and
// the drivers stay unaware of metrics, and every backend, present or future, is measured alike.
import type { StorageBackend } from '../../backends/backend.js';
import { agentMetrics, secondsSince } from '../../metrics/registry.js';

export function timedBackend(backend: StorageBackend): StorageBackend {
  const { actionDuration } = agentMetrics();
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const f = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        const started = performance.now();
        const result = f.apply(target, args);
        if (!(result instanceof Promise)) return result;
        const record = (outcome: 'ok' | 'error'): void =>
          actionDuration.observe({ action: prop, backend: target.name, outcome }, secondsSince(started));
        return result.then((v: unknown) => {
          record('ok');
          return v;
        }, (e: unknown) => {
          record('error');
          throw e;
        });
      };
    },
  });
}
