// Wait until the cluster state shows a dataset mounted on this node, following the control
// service's event stream (no fixed polling). On timeout, say what the cluster is waiting for.
import type { ControlClient } from '../../client/types.js';
import { followCluster } from '../../client/follow.js';
import { UserError } from '../../errors.js';
import type { ApiConvergenceRow, ApiDatasetState } from '../../protocol/api-json.js';
import type { ClusterSnapshot } from '../../protocol/events.js';

export interface WaitOptions {
  readonly client: ControlClient;
  readonly datasetId: string;
  readonly nodeId: string;
  /** The volume name, for the error. */
  readonly name: string;
  /** Epoch ms. */
  readonly deadline: number;
}

export async function waitMounted(o: WaitOptions): Promise<string> {
  const started = Date.now();
  const here = (state: readonly ApiDatasetState[]): string | undefined => mountedHere(state, o.datasetId, o.nodeId);

  // The common case (already mounted here) answers in one request.
  const now = here(await o.client.stateDatasets());
  if (now !== undefined) return now;

  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), Math.max(0, o.deadline - Date.now()));
  let snap: ClusterSnapshot | undefined;
  let streamError: string | undefined;
  try {
    for await (const u of followCluster(o.client, { signal: ac.signal })) {
      if (u.kind === 'lost') {
        streamError = u.reason;
        continue;
      }
      snap = u.snapshot;
      // An event that does not touch this dataset cannot have mounted it.
      if (u.changed && !u.changed.has(o.datasetId)) continue;
      const p = here(snap.state);
      if (p !== undefined) return p;
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  throw new UserError(
    `volume "${o.name}" (dataset ${o.datasetId}) is still not mounted on this node after ${secs} s: ${await explain(o, snap, streamError)}`,
  );
}

/** Where the state shows the dataset mounted on `nodeId`, if it does. */
export function mountedHere(state: readonly ApiDatasetState[], datasetId: string, nodeId: string): string | undefined {
  const row = state.find((s) => s.dataset_id === datasetId && s.primary === nodeId && typeof s.path === 'string' && s.path !== '');
  return row?.path;
}

async function explain(o: WaitOptions, snap: ClusterSnapshot | undefined, streamError: string | undefined): Promise<string> {
  let rows: readonly ApiConvergenceRow[] | undefined;
  try {
    rows = await o.client.convergence();
  } catch {
    rows = snap?.convergence;
  }
  const row = rows?.find((r) => r.dataset_id === o.datasetId);
  const node = snap?.nodes.find((n) => n.uuid === o.nodeId);
  if (snap && (!node || !node.connected)) {
    return `the flocker agent of this node (${o.nodeId}) is not connected to the control service${row ? `; ${row.phase}: ${row.reason}` : ''}`;
  }
  if (row) return `${row.phase}: ${row.reason}${row.last_error ? ` (last error: ${row.last_error})` : ''}`;
  if (!snap && streamError) return `could not follow the cluster's events: ${streamError}`;
  return 'no agent has reported any progress on it';
}

