// A store that keeps nothing: for a hub in unit tests and tools that need no persistence.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { EMPTY_DEPLOYMENT, type Deployment } from '../model/configuration.js';
import { applyChange, isEmptyChange, type ConfigurationStore, type StoreChange, type StoreEvents, type StoreSnapshot } from './store.js';

export class MemoryStore extends EventEmitter<StoreEvents> implements ConfigurationStore {
  readonly description = 'memory';
  identity: string = randomUUID();
  deployment: Deployment = EMPTY_DEPLOYMENT;
  generation = 0;
  /** Test hook: make the next commits fail as a full disk would. */
  failWith?: Error;
  commits = 0;

  commit(base: number, next: number, change: StoreChange): Promise<boolean> {
    if (this.failWith) return Promise.reject(this.failWith);
    if (base !== this.generation) return Promise.resolve(false);
    this.commits += 1;
    this.generation = next;
    if (!isEmptyChange(change)) {
      this.deployment = applyChange(this.deployment, change);
      this.emit('change', { datasets: change.datasets.size > 0, leases: change.leases.size > 0, datasetIds: new Set(change.datasets.keys()), leaseIds: new Set(change.leases.keys()) });
    }
    return Promise.resolve(true);
  }

  replaceAll(s: StoreSnapshot): Promise<void> {
    this.identity = s.identity;
    this.generation = s.generation;
    this.deployment = s.deployment;
    return Promise.resolve();
  }

  catchUp(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
