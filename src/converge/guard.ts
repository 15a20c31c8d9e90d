// PURE. The guard in front of plan(): decides whether this node may act destructively (unmount,
// detach, destroy) on what the control service says, and takes those actions out of the plan,
// with a reason a person can act on, when it may not. A datum must never disappear because a
// configuration lost a row: a control service started on an empty database, or restored from an
// old backup, or one of another cluster, would otherwise make every node let go of what it holds.
// It also carries out a fence: a node a forced move was made against releases first, and only.
import { ANY_ERA, type Deployment } from '../model/configuration.js';
import { shortId, type DatasetId, type NodeId } from '../model/ids.js';
import { actionsOf, IDLE_MS, noop, parallel, sequence, type Action, type Change } from './changes.js';
import type { LocalState } from './dataset-state.js';
import type { Plan } from './plan.js';
import type { PlannedProgress } from './transitions.js';

/** Which store a configuration came from, and how far along that store was. */
export interface StoreMark {
  /** Made once, when the store was created. */
  readonly identity: string;
  /** Grows with every change to the store. */
  readonly generation: number;
}

export interface GuardInput {
  readonly nodeId: NodeId;
  /** This agent's era (kernel boot id): a fence names the era it was made against. */
  readonly era: string;
  readonly configuration: Deployment;
  /** Sent by the control service with the configuration; absent from one that predates marks. */
  readonly store?: StoreMark | undefined;
  /** The mark of the last configuration this node acted on in full (kept in its state-dir). */
  readonly actedOn?: StoreMark | undefined;
  readonly local: LocalState;
  readonly plan: Plan;
}

export interface Guarded {
  readonly plan: Plan;
  /** A forced move fenced this node: until it has let go, it reports nothing but that. */
  readonly fenced: boolean;
  /** The mark to remember as acted on, when it differs from `actedOn` and the plan runs in full. */
  readonly record?: StoreMark;
}

// discard: p2p drops its copy of a dataset handed off to another node.
const DESTRUCTIVE: ReadonlySet<Action['kind']> = new Set(['unmount', 'detach', 'destroy', 'discard']);

/** Whether a change lets go of anything (the loop makes sure the acted-on mark is written first). */
export function letsGo(c: Change): boolean {
  return actionsOf(c).some((a) => DESTRUCTIVE.has(a.kind));
}

export function sameMark(a: StoreMark, b: StoreMark): boolean {
  return a.identity === b.identity && a.generation === b.generation;
}

/** Datasets whose volume is attached to this node. */
function heldHere(local: LocalState): DatasetId[] {
  return [...local.datasets.values()]
    .filter((d) => d.kind === 'attached' || d.kind === 'attached-no-filesystem' || d.kind === 'mounted')
    .map((d) => d.datasetId);
}

/** Why the configuration as a whole must not be acted on destructively; undefined if it may. */
export function distrustOf(store: StoreMark | undefined, actedOn: StoreMark | undefined): string | undefined {
  // Nothing to compare with: the first configuration is trusted (only missing rows protect then).
  if (!store || !actedOn) return undefined;
  if (store.identity !== actedOn.identity) {
    return `the control service's configuration is from another store (identity ${shortId(store.identity)}) than the one this node `
      + `acted on (${shortId(actedOn.identity)}); this node keeps what it holds and lets go of nothing: run \`flocker adopt\` `
      + 'or restore the right database';
  }
  if (store.generation < actedOn.generation) {
    return `the control service's configuration (generation ${store.generation}) is older than one this node acted on `
      + `(generation ${actedOn.generation}), as after restoring an old backup; this node keeps what it holds and lets go of `
      + 'nothing: run `flocker adopt` or restore the latest database';
  }
  return undefined;
}

/** The configuration's mark when it differs from the one acted on. */
function changedMark(store: StoreMark | undefined, actedOn: StoreMark | undefined): StoreMark | undefined {
  return store && !(actedOn && sameMark(actedOn, store)) ? store : undefined;
}

/**
 * The mark a configuration will be remembered by whatever the plan for it holds: it is trusted
 * (same store, not older) and new. The loop starts writing it before planning, so the write is
 * done by the time anything is let go of.
 */
export function trustedMark(store: StoreMark | undefined, actedOn: StoreMark | undefined): StoreMark | undefined {
  return distrustOf(store, actedOn) === undefined ? changedMark(store, actedOn) : undefined;
}

export function droppedReason(datasetId: DatasetId): string {
  return `the control service's configuration has no dataset ${datasetId} although this node holds it; it stays as it is `
    + 'here: run `flocker adopt` to put it back in the configuration (or restore the right database)';
}

/** Rebuild a change keeping only the actions `keep` accepts; emptied groups fold away. */
function filterChange(c: Change, keep: (a: Action) => boolean): Change {
  switch (c.kind) {
    case 'parallel':
      return parallel(c.changes.map((x) => filterChange(x, keep)), IDLE_MS);
    case 'sequence': {
      // A removed step ends its sequence: what followed it assumed it had happened.
      const kept: Change[] = [];
      for (const x of c.changes) {
        const f = filterChange(x, keep);
        if (actionsOf(f).length < actionsOf(x).length) {
          kept.push(f);
          break;
        }
        kept.push(f);
      }
      return sequence(kept, IDLE_MS);
    }
    case 'noop':
      return c;
    default:
      return keep(c) ? c : noop(IDLE_MS);
  }
}

export function guard(input: GuardInput): Guarded {
  const { configuration: config, local, nodeId } = input;
  const strays = new Set(local.strayMounts.map((s) => `${s.datasetId}\n${s.mountPoint}`));
  // Taking down an exposure nothing attached here backs is local housekeeping, never a loss.
  const isStray = (a: Action): boolean => a.kind === 'unmount' && strays.has(`${a.datasetId}\n${a.mountPoint}`);
  const distrust = distrustOf(input.store, input.actedOn);
  const held = heldHere(local);

  const blocked = new Map<DatasetId, string>();
  for (const id of held) if (!config.datasets.has(id)) blocked.set(id, droppedReason(id));
  if (distrust !== undefined) {
    for (const a of actionsOf(input.plan.change)) {
      if (DESTRUCTIVE.has(a.kind) && !isStray(a) && !blocked.has(a.datasetId)) blocked.set(a.datasetId, distrust);
    }
  }

  // A fence is the configuration's word, so only a trusted configuration can impose one.
  const fencedFor = new Set<DatasetId>();
  if (distrust === undefined) {
    for (const id of held) {
      const d = config.datasets.get(id);
      if (d && d.primary !== nodeId && d.fence?.node === nodeId && (d.fence.era === input.era || d.fence.era === ANY_ERA)) fencedFor.add(id);
    }
  }
  const fenced = fencedFor.size > 0;
  const releasing = (id: DatasetId): boolean => {
    const d = config.datasets.get(id);
    return d !== undefined && d.primary !== nodeId && !blocked.has(id);
  };

  const keep = (a: Action): boolean => {
    if (isStray(a)) return true;
    if (blocked.has(a.datasetId) && DESTRUCTIVE.has(a.kind)) return false;
    // Fenced: let go of everything configured elsewhere before doing anything else.
    if (fenced) return releasing(a.datasetId) && DESTRUCTIVE.has(a.kind);
    return true;
  };
  const change = blocked.size === 0 && !fenced ? input.plan.change : filterChange(input.plan.change, keep);

  const progress: PlannedProgress[] = [];
  const seen = new Set<DatasetId>();
  for (const p of input.plan.progress) {
    seen.add(p.datasetId);
    const why = blocked.get(p.datasetId);
    if (why !== undefined) progress.push({ datasetId: p.datasetId, phase: 'error', reason: why });
    else if (!fenced) progress.push(p);
    else if (releasing(p.datasetId)) {
      const who = config.datasets.get(p.datasetId)?.primary;
      const forced = fencedFor.has(p.datasetId)
        ? `fenced: a forced move gave this dataset to node ${shortId(who ?? '')}; `
        : 'fenced by a forced move: ';
      progress.push({ ...p, reason: `${forced}letting go of it before anything else (${p.reason})` });
    }
  }
  for (const [id, why] of blocked) if (!seen.has(id)) progress.push({ datasetId: id, phase: 'error', reason: why });
  progress.sort((a, b) => a.datasetId.localeCompare(b.datasetId));

  // Remember the highest mark acted on; an older or foreign one only once it asks nothing destructive.
  const record = blocked.size === 0 ? changedMark(input.store, input.actedOn) : trustedMark(input.store, input.actedOn);
  return { plan: { change, progress }, fenced, ...(record ? { record } : {}) };
}
