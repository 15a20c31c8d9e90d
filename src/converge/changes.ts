// PURE. State changes as plain data: deep-equal for free, loggable as JSON, no I/O.
// Only execute.ts gives them meaning. (Flocker's _change.py, without objects.)
import type { DatasetId, NodeId } from '../model/ids.js';

/** How long a converged node sleeps before looking again (Flocker: 60 s). */
export const IDLE_MS = 60_000;
/** How soon a node waiting on another node looks again; a push from control wakes it sooner. */
export const POLL_MS = 1_000;

export type Action =
  | { readonly kind: 'create-volume'; readonly datasetId: DatasetId; readonly size: number }
  | { readonly kind: 'attach'; readonly datasetId: DatasetId; readonly volumeId: string }
  /** The device is looked up at run time: an attach earlier in the same sequence may create it. */
  | { readonly kind: 'create-filesystem'; readonly datasetId: DatasetId; readonly volumeId: string }
  | { readonly kind: 'mount'; readonly datasetId: DatasetId; readonly volumeId: string; readonly mountPoint: string }
  | { readonly kind: 'unmount'; readonly datasetId: DatasetId; readonly mountPoint: string }
  | { readonly kind: 'detach'; readonly datasetId: DatasetId; readonly volumeId: string }
  | { readonly kind: 'destroy'; readonly datasetId: DatasetId; readonly volumeId: string }
  /**
   * p2p: copy the dataset from a peer. Not final: a pre-copy while the peer keeps using it. Final:
   * the peer has let go (hand-off); the verified copy is then taken over and mounted at once, since
   * every moment in between is downtime.
   */
  | { readonly kind: 'pull'; readonly datasetId: DatasetId; readonly from: Peer; readonly final: boolean; readonly mountPoint: string }
  /** p2p: the verified final copy received here becomes this node's usable copy. */
  | { readonly kind: 'promote'; readonly datasetId: DatasetId; readonly snapshot: string }
  /** p2p: drop a copy that is not the dataset's current one (a stale pre-copy, or what was handed off). */
  | { readonly kind: 'discard'; readonly datasetId: DatasetId };

/** Where a p2p peer serves transfers. */
export interface Peer {
  readonly nodeId: NodeId;
  readonly host: string;
  readonly port: number;
}

export type Change =
  | Action
  /** A failure doesn't stop siblings. */
  | { readonly kind: 'parallel'; readonly changes: readonly Change[] }
  /** A failure stops the rest. */
  | { readonly kind: 'sequence'; readonly changes: readonly Change[] }
  /** Nothing to do; look again after wakeAfterMs (Flocker NoOp.sleep, controller-runtime RequeueAfter). */
  | { readonly kind: 'noop'; readonly wakeAfterMs: number };

export type ActionKind = Action['kind'];

export function noop(wakeAfterMs: number = IDLE_MS): Change {
  return { kind: 'noop', wakeAfterMs };
}

export function isNoop(c: Change): c is { readonly kind: 'noop'; readonly wakeAfterMs: number } {
  return c.kind === 'noop';
}

function fold(kind: 'parallel' | 'sequence', changes: readonly Change[], idleMs: number): Change {
  const flat = changes.flatMap((c) => (c.kind === kind ? c.changes : [c]));
  const work = flat.filter((c) => c.kind !== 'noop');
  if (work.length === 0) {
    // All noops: wake for the soonest of them.
    const waits = flat.map((c) => (c.kind === 'noop' ? c.wakeAfterMs : idleMs));
    return noop(Math.min(idleMs, ...waits));
  }
  // A noop beside real work says nothing: after work the loop looks again soon anyway.
  if (work.length === 1) return work[0]!;
  return { kind, changes: work };
}

/** Run side by side; all-noop folds to one noop waking at the soonest requested time. */
export function parallel(changes: readonly Change[], idleMs: number = IDLE_MS): Change {
  return fold('parallel', changes, idleMs);
}

/** Run in order, stopping at the first failure. */
export function sequence(changes: readonly Change[], idleMs: number = IDLE_MS): Change {
  return fold('sequence', changes, idleMs);
}

/** The datasets a change would touch (for logs and error bookkeeping). */
export function actionsOf(c: Change): Action[] {
  switch (c.kind) {
    case 'parallel':
    case 'sequence':
      return c.changes.flatMap(actionsOf);
    case 'noop':
      return [];
    default:
      return [c];
  }
}
