// PURE. The planner's table: desired state × discovered state → one step for one dataset.
// `satisfies Transitions` makes the type checker prove every pair is handled; a test checks it
// again at runtime. A step is the change to make now plus what to tell a person about it.
import type { ClusterState, NodeState, Phase } from '../model/cluster-state.js';
import { mountedOn } from '../model/cluster-state.js';
import type { Deployment } from '../model/configuration.js';
import type { DatasetId, NodeId } from '../model/ids.js';
import { shortId } from '../model/ids.js';
import { formatSize } from '../model/size.js';
import { own } from '../model/own.js';
import { IDLE_MS, noop, POLL_MS, sequence, type Change } from './changes.js';
import type { DesiredDataset, DesiredKind, DiscoveredDataset, DiscoveredKind } from './dataset-state.js';
import { activeLease } from './desired.js';
import { giverTo, hasReplica, holderOf, knownElsewhere, mountedElsewhere, peerOf, silentNodes } from './peers.js';

/** DatasetProgress before the loop stamps it with times and errors. */
export interface PlannedProgress {
  readonly datasetId: DatasetId;
  readonly phase: Phase;
  readonly reason: string;
}

export interface Step {
  readonly change: Change;
  /** Absent when this node neither acts on nor waits on the dataset. */
  readonly progress?: PlannedProgress;
}

export interface StepContext {
  readonly nodeId: NodeId;
  readonly configuration: Deployment;
  readonly cluster: ClusterState;
  readonly now: number;
  /** loopback: attach, then make ext4 on first use; directory: attach then mount at once. */
  readonly needsFilesystem: boolean;
  /** p2p backend: each pool is private; data is copied between nodes (the rows below marked p2p). */
  readonly peerToPeer: boolean;
  /** The volume the backend's createVolume makes for a dataset (its name follows from the id). */
  readonly volumeIdFor: (datasetId: DatasetId) => string;
}

type Desired<K extends DesiredKind> = Extract<DesiredDataset, { kind: K }>;
type Found<K extends DiscoveredKind> = Extract<DiscoveredDataset, { kind: K }>;
export type StepFn<D extends DesiredKind = DesiredKind, S extends DiscoveredKind = DiscoveredKind> =
  (desired: Desired<D>, found: Found<S>, ctx: StepContext) => Step;
export type Transitions = { readonly [D in DesiredKind]: { readonly [S in DiscoveredKind]: StepFn<D, S> } };

const progress = (datasetId: DatasetId, phase: Phase, reason: string): PlannedProgress => ({ datasetId, phase, reason });
const idle = (): Step => ({ change: noop(IDLE_MS) });

/** The node a person knows as the holder: the one reporting it mounted, else the attachment. */
function holderName(found: Found<'attached-elsewhere'>, cluster: ClusterState): string {
  return shortId(mountedOn(cluster, found.datasetId)?.uuid ?? found.attachedTo);
}

/** Waiting while another node holds the volume: poll briefly (a push from control wakes us sooner). */
function waitForHolder(found: Found<'attached-elsewhere'>, ctx: StepContext, phase: Phase, what: string): Step {
  const lease = activeLease(ctx.configuration, found.datasetId, ctx.now);
  if (lease && lease.nodeId !== ctx.nodeId) {
    return {
      change: noop(POLL_MS),
      progress: progress(found.datasetId, 'waiting-for-lease', `node ${shortId(lease.nodeId)} holds a lease; the ${what} waits until it is released`),
    };
  }
  return {
    change: noop(POLL_MS),
    progress: progress(found.datasetId, phase, `waiting for node ${holderName(found, ctx.cluster)} to release the dataset`),
  };
}

/** Forced here off a fenced node that still has it attached: detach it there, then attach here. */
function takeOverFromFenced(d: Desired<'mounted'>, s: Found<'attached-elsewhere'>, ctx: StepContext): Step | undefined {
  const fence = ctx.configuration.datasets.get(d.datasetId)?.fence;
  if (!fence || fence.node === ctx.nodeId || s.attachedTo !== fence.node) return undefined;
  const lease = activeLease(ctx.configuration, d.datasetId, ctx.now);
  if (lease && lease.nodeId !== ctx.nodeId) return undefined;
  const detach: Change = { kind: 'detach', datasetId: d.datasetId, volumeId: s.volumeId };
  const attach: Change = { kind: 'attach', datasetId: d.datasetId, volumeId: s.volumeId };
  const mount: Change = { kind: 'mount', datasetId: d.datasetId, volumeId: s.volumeId, mountPoint: d.mountPoint };
  return {
    change: sequence(ctx.needsFilesystem ? [detach, attach] : [detach, attach, mount]),
    progress: progress(d.datasetId, 'moving-in', `taking the volume over from fenced node ${shortId(fence.node)}`),
  };
}

function whereTo(primary: NodeId | null): string {
  return primary ? `the dataset moves to node ${shortId(primary)}` : 'the dataset is not in the configuration';
}

export const TRANSITIONS = {
  mounted: {
    'non-existent': (d, s, ctx) => (ctx.peerToPeer ? acquire(d, s, ctx) : create(d, ctx)),
    // Poll: the other node unmounts and detaches first; moves hand off, they never share. Unless a
    // forced move fenced the holder: then it is taken from it (the pool refuses while it is exposed).
    'attached-elsewhere': (d, s, ctx) => takeOverFromFenced(d, s, ctx) ?? waitForHolder(s, ctx, 'moving-in', 'move'),
    'non-manifest': (d, s, ctx) => ({
      change: attachAndMount(d, s.volumeId, ctx),
      progress: progress(d.datasetId, 'attaching', 'attaching the volume to this node'),
    }),
    'attached-no-filesystem': (d, s) => ({
      change: sequence([
        { kind: 'create-filesystem', datasetId: d.datasetId, volumeId: s.volumeId },
        { kind: 'mount', datasetId: d.datasetId, volumeId: s.volumeId, mountPoint: d.mountPoint },
      ]),
      progress: progress(d.datasetId, 'creating', `making a filesystem on ${s.device}`),
    }),
    attached: (d, s) => ({
      change: { kind: 'mount', datasetId: d.datasetId, volumeId: s.volumeId, mountPoint: d.mountPoint },
      progress: progress(d.datasetId, 'mounting', `mounting at ${d.mountPoint}`),
    }),
    mounted: (d, s, ctx) => {
      if (!d.holdingLease) return { change: noop(IDLE_MS), progress: progress(d.datasetId, 'converged', `mounted at ${s.mountPoint}`) };
      const lease = activeLease(ctx.configuration, d.datasetId, ctx.now);
      // Look again when the lease runs out; control's push on release wakes us sooner.
      const wake = lease?.expiresAt != null ? Math.max(0, Math.min(IDLE_MS, lease.expiresAt - ctx.now)) : IDLE_MS;
      const what = d.holdingLease.deleted ? 'deletion' : `move to node ${shortId(d.holdingLease.configuredPrimary)}`;
      return {
        change: noop(wake),
        progress: progress(d.datasetId, 'waiting-for-lease', `this node holds a lease; the ${what} waits until it is released`),
      };
    },
    replica: (d, s, ctx) => acquire(d, s, ctx),
    'handed-off': (d, s, ctx) => acquire(d, s, ctx),
  },
  'non-manifest': {
    'non-existent': idle,
    'attached-elsewhere': idle,
    // p2p: this is the only copy until the new primary has pulled the last changes.
    'non-manifest': (d, _s, ctx) =>
      ctx.peerToPeer && d.primary
        ? { change: noop(POLL_MS), progress: progress(d.datasetId, 'moving-out', `waiting for node ${shortId(d.primary)} to copy the last changes`) }
        : idle(),
    'attached-no-filesystem': (d, s) => ({
      change: { kind: 'detach', datasetId: d.datasetId, volumeId: s.volumeId },
      progress: progress(d.datasetId, 'moving-out', `detaching: ${whereTo(d.primary)}`),
    }),
    attached: (d, s) => ({
      change: { kind: 'detach', datasetId: d.datasetId, volumeId: s.volumeId },
      progress: progress(d.datasetId, 'moving-out', `detaching: ${whereTo(d.primary)}`),
    }),
    // Unmount strictly before detach: the dataset is never exposed without being held here.
    mounted: (d, s, ctx) => {
      const letGo: Step = {
        change: sequence([
          { kind: 'unmount', datasetId: d.datasetId, mountPoint: s.mountPoint },
          { kind: 'detach', datasetId: d.datasetId, volumeId: s.volumeId },
        ]),
        progress: progress(d.datasetId, 'moving-out', `unmounting and detaching: ${whereTo(d.primary)}`),
      };
      if (!ctx.peerToPeer || !d.primary) return letGo;
      // p2p: stay in use while the new primary pre-copies; let go once it holds a verified copy,
      // so the downtime covers only what changed since.
      const target = own(ctx.cluster.nodes, d.primary);
      if (hasReplica(target, d.datasetId)) {
        return { ...letGo, progress: progress(d.datasetId, 'moving-out', `node ${shortId(d.primary)} has pre-copied the data; unmounting to hand off`) };
      }
      const why = target?.connected
        ? `node ${shortId(d.primary)} is copying the data while it stays in use here`
        : `waiting for node ${shortId(d.primary)} to come online and copy the data; it stays in use here`;
      return { change: noop(POLL_MS), progress: progress(d.datasetId, 'moving-out', why) };
    },
    replica: (d, s, ctx) => {
      // A final copy handed to us but not yet promoted is the only good copy: keep it in use.
      const giver = giverTo(ctx.cluster, d.datasetId, ctx.nodeId);
      if (giver && giver.snapshot === s.snapshot) {
        return { change: { kind: 'promote', datasetId: d.datasetId, snapshot: s.snapshot }, progress: progress(d.datasetId, 'moving-out', `taking over the copy node ${shortId(giver.node.uuid)} handed off, so that ${whereTo(d.primary)}`) };
      }
      if (giver) return { change: noop(POLL_MS), progress: progress(d.datasetId, 'moving-out', `node ${shortId(giver.node.uuid)} handed the dataset off to this node; finishing the copy first`) };
      return { change: { kind: 'discard', datasetId: d.datasetId } };
    },
    'handed-off': (d, s, ctx) => {
      const now = mountedElsewhere(ctx.cluster, d.datasetId, ctx.nodeId);
      if (now) return { change: { kind: 'discard', datasetId: d.datasetId }, progress: progress(d.datasetId, 'moving-out', `node ${shortId(now.uuid)} has the dataset mounted; removing the copy left here`) };
      return { change: noop(POLL_MS), progress: progress(d.datasetId, 'moving-out', `handed off to node ${shortId(s.to)}; keeping this copy until it is mounted there`) };
    },
  },
  deleted: {
    'non-existent': idle,
    // The holder lets go first; the configured primary destroys it once it is free.
    'attached-elsewhere': (d, s, ctx) => (d.destroyHere ? waitForHolder(s, ctx, 'deleting', 'deletion') : idle()),
    'non-manifest': (d, s) =>
      d.destroyHere
        ? { change: { kind: 'destroy', datasetId: d.datasetId, volumeId: s.volumeId }, progress: progress(d.datasetId, 'deleting', 'destroying the volume') }
        : idle(),
    'attached-no-filesystem': (d, s) => release(d, s.volumeId, null),
    attached: (d, s) => release(d, s.volumeId, null),
    mounted: (d, s) => release(d, s.volumeId, s.mountPoint),
    replica: (d) => ({ change: { kind: 'discard', datasetId: d.datasetId }, progress: progress(d.datasetId, 'deleting', 'deleted: removing the copy received here') }),
    'handed-off': (d) => ({ change: { kind: 'discard', datasetId: d.datasetId }, progress: progress(d.datasetId, 'deleting', 'deleted: removing the copy handed off from here') }),
  },
} satisfies Transitions;

/**
 * One pass from a free volume to a mounted one: each pass between them would cost a rediscovery
 * and delay what a user waits for. Safe in one go: the filesystem step checks the device itself
 * just before (execute.ts), never trusting what was discovered.
 */
function attachAndMount(d: Desired<'mounted'>, volumeId: string, ctx: StepContext): Change {
  const id = d.datasetId;
  return sequence([
    { kind: 'attach', datasetId: id, volumeId },
    ...(ctx.needsFilesystem ? [{ kind: 'create-filesystem', datasetId: id, volumeId } as const] : []),
    { kind: 'mount', datasetId: id, volumeId, mountPoint: d.mountPoint },
  ]);
}

function create(d: Desired<'mounted'>, ctx: StepContext): Step {
  return {
    change: sequence([{ kind: 'create-volume', datasetId: d.datasetId, size: d.size }, attachAndMount(d, ctx.volumeIdFor(d.datasetId), ctx)]),
    progress: progress(d.datasetId, 'creating', `creating a ${formatSize(d.size, 'exact')} volume`),
  };
}

/**
 * p2p, configured here but no usable copy here: copy it from whoever holds it — a pre-copy while
 * the holder keeps using it, the final copy once it has let go — or create it if nobody has it.
 */
function acquire(d: Desired<'mounted'>, s: Found<'non-existent' | 'replica' | 'handed-off'>, ctx: StepContext): Step {
  const id = d.datasetId;
  const giver = giverTo(ctx.cluster, id, ctx.nodeId);
  if (giver) {
    if (s.kind === 'replica' && s.snapshot === giver.snapshot) {
      return { change: { kind: 'promote', datasetId: id, snapshot: s.snapshot }, progress: progress(id, 'moving-in', 'verified the final copy; taking it over') };
    }
    return pull(d, giver.node, true, `copying the last changes from node ${shortId(giver.node.uuid)}`);
  }
  const holder = holderOf(ctx.cluster, id, ctx.nodeId);
  if (holder) {
    const who = shortId(holder.node.uuid);
    if (!holder.node.connected) {
      return { change: noop(POLL_MS), progress: progress(id, 'moving-in', `node ${who} is unreachable; the only copy is there`) };
    }
    if (!holder.mounted) return pull(d, holder.node, true, `copying the last changes from node ${who}`);
    if (s.kind !== 'replica') return pull(d, holder.node, false, `copying the data from node ${who} while it stays in use there`);
    const lease = activeLease(ctx.configuration, id, ctx.now);
    if (lease && lease.nodeId === holder.node.uuid) {
      return { change: noop(POLL_MS), progress: progress(id, 'waiting-for-lease', `pre-copied; node ${who} holds a lease, so the hand-off waits until it is released`) };
    }
    return { change: noop(POLL_MS), progress: progress(id, 'moving-in', `pre-copied; waiting for node ${who} to unmount it for the hand-off`) };
  }
  if (s.kind === 'non-existent') {
    const other = knownElsewhere(ctx.cluster, id, ctx.nodeId);
    if (other) return { change: noop(POLL_MS), progress: progress(id, 'moving-in', `waiting for node ${shortId(other.uuid)}, which has a copy in transit`) };
    // Creating while a node that might hold the data is silent would give the dataset two histories.
    const silent = silentNodes(ctx.cluster, ctx.nodeId);
    if (silent.length > 0) {
      return { change: noop(POLL_MS), progress: progress(id, 'pending', `waiting for node ${shortId(silent[0]!.uuid)} to report before creating: it may hold this dataset`) };
    }
    return create(d, ctx);
  }
  return { change: noop(POLL_MS), progress: progress(id, 'moving-in', 'waiting for a node to report the current copy of the dataset') };
}

function pull(d: Desired<'mounted'>, from: NodeState, final: boolean, reason: string): Step {
  const id = d.datasetId;
  return { change: { kind: 'pull', datasetId: id, from: peerOf(from), final, mountPoint: d.mountPoint }, progress: progress(id, 'moving-in', reason) };
}

/** Deleted and held here: unmount, detach, and destroy too if this is the configured primary. */
function release(d: Desired<'deleted'>, volumeId: string, mountPoint: string | null): Step {
  const steps: Change[] = [];
  if (mountPoint) steps.push({ kind: 'unmount', datasetId: d.datasetId, mountPoint });
  steps.push({ kind: 'detach', datasetId: d.datasetId, volumeId });
  if (d.destroyHere) steps.push({ kind: 'destroy', datasetId: d.datasetId, volumeId });
  const what = [mountPoint ? 'unmounting' : null, 'detaching', d.destroyHere ? 'destroying the volume' : null].filter(Boolean).join(', ');
  return { change: sequence(steps), progress: progress(d.datasetId, 'deleting', `deleted: ${what}`) };
}

/** Dispatch one pair. The casts are sound: the table is indexed by the very tags it is given. */
export function step(desired: DesiredDataset, found: DiscoveredDataset, ctx: StepContext): Step {
  const row = TRANSITIONS[desired.kind] as Record<DiscoveredKind, StepFn>;
  return row[found.kind](desired, found, ctx);
}
