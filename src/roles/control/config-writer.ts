// Every change to the configuration goes through here. Requests queue; one batch at a time is
// evaluated against the committed configuration and committed with one compare-and-swap on the
// store's generation (group commit: one fsync or one etcd transaction for a burst). A conditional
// request (X-If-Configuration-Matches) is compared in that same evaluation, so of two requests
// holding one tag exactly one can win. When another replica committed first, the batch is
// evaluated again on the newer configuration: nothing is lost and every invariant is checked
// against what is really stored.
import { createHash } from 'node:crypto';
import type { Dataset, Lease } from '../../model/configuration.js';
import type { ModelError, Result } from '../../model/errors.js';
import { err } from '../../model/errors.js';
import type { ConfigurationStore } from '../../store/store.js';
import type { Edit } from './edits.js';

/**
 * Requests per commit: one etcd transaction may hold at most 128 operations by default, and each
 * request writes one or two keys.
 */
const MAX_BATCH = 60;

export type WriteError = ModelError | { readonly kind: 'tag-mismatch'; readonly current: string };

interface Request {
  readonly edit: Edit<unknown>;
  readonly ifMatch: readonly string[] | undefined;
  resolve(r: Result<unknown, WriteError>): void;
  reject(e: unknown): void;
}

/** X-Configuration-Tag: names one committed configuration of one store, in O(1). */
export function configurationTag(identity: string, generation: number): string {
  return createHash('md5').update(`${identity}:${generation}`).digest('hex');
}

export class ConfigWriter {
  private queue: Request[] = [];
  private running = false;
  private lastTag?: { generation: number; tag: string };

  constructor(private readonly store: ConfigurationStore, private readonly now: () => number) {}

  /** The tag of the committed configuration. */
  tag(): string {
    const g = this.store.generation;
    if (this.lastTag?.generation !== g) this.lastTag = { generation: g, tag: configurationTag(this.store.identity, g) };
    return this.lastTag.tag;
  }

  /**
   * Apply `edit` if the configuration's tag is one of `ifMatch` (when given), both checked and
   * committed in one step. Resolves once durable (or with why not).
   */
  write<T>(edit: Edit<T>, ifMatch?: readonly string[]): Promise<Result<T, WriteError>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ edit, ifMatch, resolve: resolve as (r: Result<unknown, WriteError>) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    // Requests arriving in this turn of the event loop join the batch.
    setImmediate(() => {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.run(batch).finally(() => {
        this.running = false;
        this.schedule();
      });
    });
  }

  private async run(batch: Request[]): Promise<void> {
    try {
      // Evaluate against everything committed anywhere before these requests arrived.
      await this.store.catchUp();
      for (;;) {
        const results = await this.attempt(batch);
        if (results) {
          batch.forEach((r, i) => r.resolve(results[i] as Result<unknown, WriteError>));
          return;
        }
        // Another writer committed first: catch up and evaluate everything again.
        await this.store.catchUp();
      }
    } catch (e) {
      for (const r of batch) r.reject(e);
    }
  }

  /** One evaluation and commit of the batch; undefined when the store had moved on. */
  private async attempt(batch: Request[]): Promise<Result<unknown, WriteError>[] | undefined> {
    const base = this.store.generation;
    const identity = this.store.identity;
    let d = this.store.deployment;
    let generation = base;
    const datasets = new Map<string, Dataset>();
    const leases = new Map<string, Lease | null>();
    const now = this.now();
    const results: Result<unknown, WriteError>[] = [];
    for (const req of batch) {
      if (req.ifMatch !== undefined) {
        const current = configurationTag(identity, generation);
        if (!req.ifMatch.includes(current)) {
          results.push(err({ kind: 'tag-mismatch', current }));
          continue;
        }
      }
      const r = req.edit(d, now);
      if (!r.ok) {
        results.push(r);
        continue;
      }
      const { change, value, deployment } = r.value;
      if (change.datasets.size + change.leases.size > 0) {
        for (const [k, v] of change.datasets) datasets.set(k, v);
        for (const [k, v] of change.leases) leases.set(k, v);
        d = deployment;
        generation += 1;
      }
      results.push({ ok: true, value });
    }
    if (generation === base) return results;
    return (await this.store.commit(base, generation, { datasets, leases })) ? results : undefined;
  }
}
