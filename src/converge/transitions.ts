// PURE. The planner's table: desired state × discovered state → one step for one dataset.
// `satisfies Transitions` makes the type checker prove every pair is handled; a test checks it
// again at runtime. A step is the change to make now plus what to tell a person about it.
import type { ClusterState, Phase } from '../model/cluster-state.js';
import { mountedOn } from '../model/cluster-state.js';
import type { Deployment } from '../model/configuration.js';
import type { DatasetId, NodeId } from '../model/ids.js';
import { shortId } from '../model/ids.js';
import { IDLE_MS, noop, POLL_MS, sequence, type Change } from './changes.js';
import type { DesiredDataset, DesiredKind, DiscoveredDataset, DiscoveredKind } from './dataset-state.js';
import { activeLease } from './desired.js';

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
}

type Desired<K extends DesiredKind> = Extract<DesiredDataset, { kind: K }>;
type Found<K extends DiscoveredKind> = Extract<DiscoveredDataset, { kind: K }>;
export type StepFn<D extends DesiredKind = DesiredKind, S extends DiscoveredKind = DiscoveredKind> =
  (desired: Desired<D>, found: Found<S>, ctx: StepContext) => Step;
export type Transitions = { readonly [D in DesiredKind]: { readonly [S in DiscoveredKind]: StepFn<D, S> } };

const progress = (datasetId: DatasetId, phase: Phase, reason: string): PlannedProgress => ({ datasetId, phase, reason });
const idle = (): Step => ({ change: noop(IDLE_MS) });

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}

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
  const fence = ctx.configuration.datasets[d.datasetId]?.fence;
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
    'non-existent': (d) => ({
      change: { kind: 'create-volume', datasetId: d.datasetId, size: d.size },
      progress: progress(d.datasetId, 'creating', `creating a ${formatBytes(d.size)} volume`),
    }),
    // Poll: the other node unmounts and detaches first; moves hand off, they never share. Unless a
    // forced move fenced the holder: then it is taken from it (the pool refuses while it is exposed).
    'attached-elsewhere': (d, s, ctx) => takeOverFromFenced(d, s, ctx) ?? waitForHolder(s, ctx, 'moving-in', 'move'),
    'non-manifest': (d, s, ctx) => ({
      change: ctx.needsFilesystem
        ? { kind: 'attach', datasetId: d.datasetId, volumeId: s.volumeId }
        : sequence([
            { kind: 'attach', datasetId: d.datasetId, volumeId: s.volumeId },
            { kind: 'mount', datasetId: d.datasetId, volumeId: s.volumeId, mountPoint: d.mountPoint },
          ]),
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
  },
  'non-manifest': {
    'non-existent': idle,
    'attached-elsewhere': idle,
    'non-manifest': idle,
    'attached-no-filesystem': (d, s) => ({
      change: { kind: 'detach', datasetId: d.datasetId, volumeId: s.volumeId },
      progress: progress(d.datasetId, 'moving-out', `detaching: ${whereTo(d.primary)}`),
    }),
    attached: (d, s) => ({
      change: { kind: 'detach', datasetId: d.datasetId, volumeId: s.volumeId },
      progress: progress(d.datasetId, 'moving-out', `detaching: ${whereTo(d.primary)}`),
    }),
    // Unmount strictly before detach: the dataset is never exposed without being held here.
    mounted: (d, s) => ({
      change: sequence([
        { kind: 'unmount', datasetId: d.datasetId, mountPoint: s.mountPoint },
        { kind: 'detach', datasetId: d.datasetId, volumeId: s.volumeId },
      ]),
      progress: progress(d.datasetId, 'moving-out', `unmounting and detaching: ${whereTo(d.primary)}`),
    }),
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
  },
} satisfies Transitions;

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
