// What changed between two views of the cluster an agent holds (configuration + cluster state),
// as a message-sized delta, and how an agent applies it. Pure: the control service diffs once
// per change and sends the same bytes to every agent that holds the previous view; an agent
// applies deltas in order and asks for a snapshot when one does not follow (see channel.ts).
//
// Records are compared by reference: the hub replaces only what a change touches, so an
// untouched dataset, lease or node keeps its object and costs one comparison. A record replaced
// by an equal copy is sent again, which is harmless. The configuration's records are only
// compared for the ids a caller says were touched (the store's changes since `prev`), so a
// change costs what it changed, not the size of the configuration.
import type { Dataset, Deployment, Lease } from '../model/configuration.js';
import type { ClusterState, NodeState } from '../model/cluster-state.js';
import { patchIdMap, type IdMap } from '../model/id-map.js';

export interface AgentView {
  readonly configuration: Deployment;
  readonly cluster: ClusterState;
}

/** Records to set (by key) and keys to remove. */
export interface RecordDelta<T> {
  readonly set?: Readonly<Record<string, T>>;
  readonly remove?: readonly string[];
}

export interface ViewDelta {
  readonly datasets?: RecordDelta<Dataset>;
  readonly leases?: RecordDelta<Lease>;
  readonly nodes?: RecordDelta<NodeState>;
}

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The configuration ids that may differ between two views; undefined: any of them may. */
export interface Touched {
  readonly datasetIds: Iterable<string>;
  readonly leaseIds: Iterable<string>;
}

function diffMaps<T>(prev: IdMap<T>, next: IdMap<T>, touched: Iterable<string> | undefined): RecordDelta<T> | undefined {
  if (prev === next) return undefined;
  let set: Record<string, T> | undefined;
  let remove: string[] | undefined;
  for (const k of touched ?? new Set([...prev.keys(), ...next.keys()])) {
    const after = next.get(k);
    if (after === undefined) {
      if (prev.has(k)) (remove ??= []).push(k);
    } else if (prev.get(k) !== after) {
      (set ??= {})[k] = after;
    }
  }
  if (!set && !remove) return undefined;
  return { ...(set ? { set } : {}), ...(remove ? { remove } : {}) };
}

function diffRecords<T>(prev: Readonly<Record<string, T>>, next: Readonly<Record<string, T>>, same: (a: T, b: T) => boolean): RecordDelta<T> | undefined {
  if (prev === next) return undefined;
  let set: Record<string, T> | undefined;
  let remove: string[] | undefined;
  for (const k in next) {
    if (!has(next, k)) continue;
    const before = has(prev, k) ? prev[k] : undefined;
    const after = next[k] as T;
    if (before === undefined || !same(before, after)) (set ??= {})[k] = after;
  }
  for (const k in prev) if (has(prev, k) && !has(next, k)) (remove ??= []).push(k);
  if (!set && !remove) return undefined;
  return { ...(set ? { set } : {}), ...(remove ? { remove } : {}) };
}

/**
 * A node's `lastSeen` moves with every pong; agents never read it, so a node whose only change
 * is its lastSeen is not sent (else every push would carry every node). It travels with the
 * node's next real change and with every snapshot.
 */
export function sameNodeForAgents(a: NodeState, b: NodeState): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (k === 'lastSeen') continue;
    if ((a as unknown as Record<string, unknown>)[k] !== (b as unknown as Record<string, unknown>)[k]) return false;
  }
  return true;
}

/**
 * What turns `prev` into `next`; undefined when nothing an agent reads has changed. `touched`
 * must name every dataset and lease id changed between them (else every id is compared).
 */
export function diffView(prev: AgentView, next: AgentView, touched?: Touched): ViewDelta | undefined {
  const datasets = diffMaps(prev.configuration.datasets, next.configuration.datasets, touched?.datasetIds);
  const leases = diffMaps(prev.configuration.leases, next.configuration.leases, touched?.leaseIds);
  const nodes = diffRecords(prev.cluster.nodes, next.cluster.nodes, sameNodeForAgents);
  if (!datasets && !leases && !nodes) return undefined;
  return { ...(datasets ? { datasets } : {}), ...(leases ? { leases } : {}), ...(nodes ? { nodes } : {}) };
}

function applyRecords<T>(base: Readonly<Record<string, T>>, d: RecordDelta<T> | undefined): Readonly<Record<string, T>> {
  if (!d) return base;
  const out: Record<string, T> = { ...base };
  for (const k of d.remove ?? []) delete out[k];
  if (d.set) for (const k of Object.keys(d.set)) out[k] = d.set[k] as T;
  return out;
}

function applyToMap<T>(base: IdMap<T>, d: RecordDelta<T> | undefined): IdMap<T> {
  if (!d) return base;
  return patchIdMap(base, Object.entries(d.set ?? {}), d.remove ?? []);
}

export function applyDelta(view: AgentView, d: ViewDelta): AgentView {
  return {
    configuration: { datasets: applyToMap(view.configuration.datasets, d.datasets), leases: applyToMap(view.configuration.leases, d.leases) },
    cluster: { nodes: applyRecords(view.cluster.nodes, d.nodes) },
  };
}
