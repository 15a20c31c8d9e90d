// --wait: judge, from the live snapshot, whether a requested change has happened yet.
import type { ClusterSnapshot } from '../../protocol/events.js';
import { shortId } from '../../model/ids.js';
import type { WireProgress } from '../../model/transfer-progress.js';

export type WaitGoal =
  | { readonly kind: 'on-node'; readonly datasetId: string; readonly node: string }
  | { readonly kind: 'gone'; readonly datasetId: string };

export type WaitVerdict =
  | { readonly kind: 'done'; readonly line: string }
  | { readonly kind: 'waiting'; readonly line: string; readonly transfer?: WireProgress }
  /** Only followUntil's deadline gives this; judgeWait itself never gives up. */
  | { readonly kind: 'failed'; readonly line: string };

export function judgeWait(s: ClusterSnapshot, goal: WaitGoal): WaitVerdict {
  const id = goal.datasetId;
  const label = shortId(id);
  const row = s.convergence.find((c) => c.dataset_id === id);
  const state = s.state.find((d) => d.dataset_id === id);
  // Most errors are retried by the agent (a busy device, a peer not yet free): keep waiting and
  // show the current reason; the caller fails with it only at its deadline.
  if (row?.phase === 'error') {
    return { kind: 'waiting', line: `dataset ${label}: error: ${row.last_error ?? row.reason}` };
  }
  if (goal.kind === 'gone') {
    const config = s.configuration.find((d) => d.dataset_id === id);
    if (!state && (!config || config.deleted) && (!row || row.phase !== 'deleting')) {
      return { kind: 'done', line: `dataset ${label} destroyed` };
    }
    return { kind: 'waiting', line: `dataset ${label}: ${row ? `${row.phase}: ${row.reason}` : 'deleting'}` };
  }
  const there = state?.primary === goal.node;
  if (there && (!row || row.phase === 'converged')) {
    const host = s.nodes.find((n) => n.uuid === goal.node)?.host;
    return { kind: 'done', line: `dataset ${label} is attached on ${shortId(goal.node)}${host ? ` (${host})` : ''}` };
  }
  if (row) return { kind: 'waiting', line: `dataset ${label}: ${row.phase}: ${row.reason}`, ...(row.progress ? { transfer: row.progress } : {}) };
  return { kind: 'waiting', line: `dataset ${label}: pending: waiting for node ${shortId(goal.node)} to report it` };
}
