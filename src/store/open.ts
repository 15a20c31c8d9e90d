// Store URLs (`--store`, `flocker store copy`): `sqlite:PATH` or
// `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`, and opening one, waiting for an etcd that is not up yet.
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { abortableSleep } from '../abortable-sleep.js';
import { EtcdStore, type EtcdTls } from './etcd.js';
import { openSqliteStore } from './sqlite.js';
import { StoreUnavailableError, type ConfigurationStore } from './store.js';

export type StoreSpec =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'etcd'; readonly endpoints: readonly string[]; readonly prefix: string };

export const DEFAULT_ETCD_PREFIX = '/flocker/';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function parseStoreUrl(value: string): StoreSpec {
  const forms = 'use sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]';
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new UserError(`--store ${value}: no file named; ${forms}`);
    return { kind: 'sqlite', path: resolve(path) };
  }
  if (value.startsWith('etcd://')) {
    const rest = value.slice('etcd://'.length);
    const slash = rest.indexOf('/');
    const hosts = slash < 0 ? rest : rest.slice(0, slash);
    const prefixPart = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    const endpoints = hosts.split(',').map((h) => h.trim()).filter((h) => h !== '');
    if (endpoints.length === 0) throw new UserError(`--store ${value}: no etcd endpoint; ${forms}`);
    for (const e of endpoints) {
      const m = HOST_PORT.exec(e);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UserError(`--store ${value}: ${JSON.stringify(e)} is not HOST:PORT; ${forms}`);
    }
    if (/[^A-Za-z0-9._\-/]/.test(prefixPart)) throw new UserError(`--store ${value}: the prefix may hold only letters, digits, . _ - and /`);
    return { kind: 'etcd', endpoints, prefix: prefixPart === '' ? DEFAULT_ETCD_PREFIX : `/${prefixPart}/` };
  }
  throw new UserError(`--store ${JSON.stringify(value)} is not a store URL; ${forms}`);
}

export function describeStore(spec: StoreSpec): string {
  return spec.kind === 'sqlite' ? `sqlite:${spec.path}` : `etcd://${spec.endpoints.join(',')}${spec.prefix.replace(/\/$/, '')}`;
}

export interface OpenStoreOptions {
  readonly tls?: EtcdTls;
  readonly clusterUuid?: string;
  /** Give up on an unreachable etcd after this long; undefined: keep trying. */
  readonly waitSeconds?: number;
  /** Told about each failed attempt (who, why, next try in ms). */
  readonly onRetry?: (message: string, delayMs: number) => void;
  readonly signal?: AbortSignal;
}

/** Capped, jittered exponential backoff: 0.25 s, 0.5 s, 1 s … at most 5 s, each ±25 %. */
function backoffMs(attempt: number): number {
  const base = Math.min(5000, 250 * 2 ** attempt);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

export async function openStoreSpec(spec: StoreSpec, o: OpenStoreOptions = {}): Promise<ConfigurationStore> {
  if (spec.kind === 'sqlite') return openSqliteStore(spec.path);
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await EtcdStore.open({
        endpoints: spec.endpoints, prefix: spec.prefix,
        ...(o.tls ? { tls: o.tls } : {}), ...(o.clusterUuid ? { clusterUuid: o.clusterUuid } : {}),
      });
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
      const waited = (Date.now() - started) / 1000;
      if (o.waitSeconds !== undefined && waited >= o.waitSeconds) {
        throw new UserError(`cannot reach etcd at ${spec.endpoints.join(', ')} after ${Math.round(waited)} s (--wait-store ${o.waitSeconds}): ${e.message}`);
      }
      let delay = backoffMs(attempt);
      if (o.waitSeconds !== undefined) delay = Math.max(0, Math.min(delay, o.waitSeconds * 1000 - (Date.now() - started)));
      o.onRetry?.(e.message, delay);
      await abortableSleep(delay, o.signal ?? new AbortController().signal);
      if (o.signal?.aborted) throw new UserError('stopped while waiting for etcd');
    }
  }
}
