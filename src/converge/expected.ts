// PURE. What a node holds after a change ran in full without a failure, foretold from the reading
// before it. The loop reports it at once: every step's success was the storage saying it is so,
// and reading the whole pool back first (one step's worth of time, on each side of a move) only
// confirms it. The reading that follows is reported too, so anything else that changed meanwhile
// shows a moment later, and planning never uses what is foretold here.
import type { DatasetId } from '../model/ids.js';
import type { Action, Change } from './changes.js';
import { actionsOf } from './changes.js';
import type { DiscoveredDataset, LocalState } from './dataset-state.js';

/**
 * undefined when the change holds a step whose outcome is not the storage's word alone (p2p
 * copies: what they leave behind depends on the peer), or one that does not fit the reading.
 */
export function expectedAfter(local: LocalState, change: Change, volumeIdFor: (id: DatasetId) => string): LocalState | undefined {
  const datasets = new Map(local.datasets);
  let strayMounts = local.strayMounts;
  for (const a of actionsOf(change)) {
    const cur = datasets.get(a.datasetId);
    const next = step(a, cur, volumeIdFor);
    if (next === UNFORESEEABLE) return undefined;
    if (next === undefined) datasets.delete(a.datasetId);
    else if (next !== cur) datasets.set(a.datasetId, next);
    if (a.kind === 'unmount' || a.kind === 'mount') strayMounts = strayMounts.filter((s) => s.mountPoint !== a.mountPoint);
  }
  return { datasets, strayMounts };
}

const UNFORESEEABLE = Symbol('unforeseeable');

type Held = Extract<DiscoveredDataset, { volumeId: string }>;

function held(d: DiscoveredDataset | undefined): Held | undefined {
  return d && 'volumeId' in d ? d : undefined;
}

/** The dataset's state after `a` (undefined: nothing of it is left here). */
function step(a: Action, cur: DiscoveredDataset | undefined, volumeIdFor: (id: DatasetId) => string): DiscoveredDataset | undefined | typeof UNFORESEEABLE {
  const h = held(cur);
  const base = h ? { datasetId: h.datasetId, volumeId: h.volumeId, size: h.size } : undefined;
  // A volume made or attached in this change has no device in the reading; only the report uses
  // this state, and a report names no device.
  const device = h && 'device' in h ? h.device : '';
  switch (a.kind) {
    case 'create-volume':
      return { kind: 'non-manifest', datasetId: a.datasetId, volumeId: volumeIdFor(a.datasetId), size: a.size };
    case 'attach':
    case 'create-filesystem':
      return base ? { kind: 'attached', ...base, device } : UNFORESEEABLE;
    case 'mount':
      return base ? { kind: 'mounted', ...base, device, mountPoint: a.mountPoint } : UNFORESEEABLE;
    case 'unmount':
      // A stray exposure has no dataset state of its own to change.
      return h?.kind === 'mounted' && h.mountPoint === a.mountPoint && base ? { kind: 'attached', ...base, device } : cur;
    case 'detach':
      return base ? { kind: 'non-manifest', ...base } : UNFORESEEABLE;
    case 'destroy':
      return undefined;
    case 'pull':
    case 'promote':
    case 'discard':
      return UNFORESEEABLE;
  }
}
