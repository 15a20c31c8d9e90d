// The one interpreter of changes over a StorageBackend. Drivers don't retry and neither does
// this: a failure is recorded against its dataset and the loop decides when to look again.
import { BackendError, type StorageBackend } from '../backends/backend.js';
import { CommandError } from '../sys/run.js';
import type { DatasetId } from '../model/ids.js';
import { errorMessage } from '../errors.js';
import type { Action, ActionKind, Change } from './changes.js';

export interface ActionFailure {
  readonly datasetId: DatasetId;
  readonly action: ActionKind;
  readonly message: string;
}

export interface ExecResult {
  /** Datasets on which at least one action succeeded. */
  readonly succeeded: ReadonlySet<DatasetId>;
  readonly failures: readonly ActionFailure[];
}

/** A message a person can act on: CommandError already says "<cmd> failed: <stderr>". */
export function describeFailure(e: unknown): string {
  if (e instanceof CommandError || e instanceof BackendError) return e.message;
  return errorMessage(e);
}

export interface ExecHooks {
  /** Runs before each action; a throw fails that action (e.g. a fencing token forbids it). */
  before?(action: Action): Promise<void>;
  /** Runs after each action that succeeded (the torture tests crash the agent here). */
  after?(action: Action): void;
}


/** p2p: copies data between nodes. Shared-pool backends have none, and never plan its actions. */
export interface DataMover {
  pull(a: Extract<Action, { kind: 'pull' }>): Promise<void>;
  promote(a: Extract<Action, { kind: 'promote' }>): Promise<void>;
  discard(a: Extract<Action, { kind: 'discard' }>): Promise<void>;
}

export async function execute(change: Change, backend: StorageBackend, mover?: DataMover, hooks: ExecHooks = {}): Promise<ExecResult> {
  const succeeded = new Set<DatasetId>();
  const failures: ActionFailure[] = [];
  const run = async (c: Change): Promise<boolean> => {
    switch (c.kind) {
      case 'noop':
        return true;
      case 'parallel': {
        // Siblings are independent datasets: one failing must not hold the others back.
        const results = await Promise.all(c.changes.map(run));
        return results.every(Boolean);
      }
      case 'sequence': {
        for (const child of c.changes) if (!(await run(child))) return false;
        return true;
      }
      case 'create-volume':
      case 'attach':
      case 'create-filesystem':
      case 'mount':
      case 'unmount':
      case 'detach':
      case 'destroy':
      case 'pull':
      case 'promote':
      case 'discard':
        try {
          await hooks.before?.(c);
          await perform(c, backend, mover);
          succeeded.add(c.datasetId);
          hooks.after?.(c);
          return true;
        } catch (e) {
          failures.push({ datasetId: c.datasetId, action: c.kind, message: describeFailure(e) });
          return false;
        }
      default:
        return assertNever(c);
    }
  };
  await run(change);
  return { succeeded, failures };
}

function needMover(mover: DataMover | undefined, a: Action): DataMover {
  if (!mover) throw new Error(`the ${a.kind} step needs the p2p backend, but this agent's backend cannot move data between nodes`);
  return mover;
}

async function perform(a: Action, backend: StorageBackend, mover: DataMover | undefined): Promise<void> {
  switch (a.kind) {
    case 'create-volume':
      await backend.createVolume(a.datasetId, a.size);
      return;
    case 'attach':
      await backend.attachVolume(a.volumeId, backend.computeInstanceId());
      return;
    case 'create-filesystem': {
      const device = await backend.devicePath(a.volumeId);
      // Never format over data: the discovered state may be stale by now.
      if (!(await backend.hasFilesystem(device))) await backend.createFilesystem(device);
      return;
    }
    case 'mount':
      await backend.mount(await backend.devicePath(a.volumeId), a.mountPoint);
      return;
    case 'unmount':
      await backend.unmount(a.mountPoint);
      return;
    case 'detach':
      await backend.detachVolume(a.volumeId);
      return;
    case 'destroy':
      await backend.destroyVolume(a.volumeId);
      return;
    case 'pull':
      await needMover(mover, a).pull(a);
      return;
    case 'promote':
      await needMover(mover, a).promote(a);
      return;
    case 'discard':
      await needMover(mover, a).discard(a);
      return;
    default:
      assertNever(a);
  }
}

function assertNever(x: never): never {
  throw new Error(`unknown change: ${JSON.stringify(x)}`);
}
