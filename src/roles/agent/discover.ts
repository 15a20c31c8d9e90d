// IMPURE. Read what this node holds right now, from scratch (level-based: no memory of events).
import type { StorageBackend } from '../../backends/backend.js';
import { asDatasetId, asNodeId, type DatasetId } from '../../model/ids.js';
import type { SnapshotPool } from '../../backends/p2p/pool-api.js';
import type { DiscoveredDataset, LocalState } from '../../converge/dataset-state.js';
import { mountPointFor } from '../../converge/desired.js';

/**
 * p2p: copies that are not a volume — pre-copies received from a peer and copies handed off to
 * one. Shared-pool backends have no such thing and pass no pool.
 */
export async function discoverLocal(backend: StorageBackend, mountRoot: string, pool?: SnapshotPool): Promise<LocalState> {
  const [volumes, mounts] = await Promise.all([backend.listVolumes(), backend.listMounts(mountRoot)]);
  const me = backend.computeInstanceId();
  const datasets = new Map<DatasetId, DiscoveredDataset>();
  const accounted = new Set<string>();
  // Looked up side by side: one after another, they made most of a pass's time.
  const devices = new Map(await Promise.all(volumes
    .filter((v) => v.attachedTo === me)
    .map(async (v) => [v.volumeId, v.device ?? (await backend.devicePath(v.volumeId).catch(() => ''))] as const)));
  for (const v of volumes) {
    const id = v.datasetId;
    // One volume per dataset; should a pool ever hold more, the first listed wins consistently.
    if (datasets.has(id)) continue;
    const base = { datasetId: id, volumeId: v.volumeId, size: v.size };
    if (v.attachedTo === null) {
      datasets.set(id, { kind: 'non-manifest', ...base });
    } else if (v.attachedTo !== me) {
      datasets.set(id, { kind: 'attached-elsewhere', ...base, attachedTo: v.attachedTo });
    } else {
      // One unreadable volume must not blind the agent to all others: it is planned as
      // 'attached', so the mount step runs, fails, and reports why against this dataset alone.
      const device = devices.get(v.volumeId) ?? '';
      const mountPoint = mountPointFor(mountRoot, id);
      if (device !== '' && mounts.get(mountPoint) === device) {
        accounted.add(mountPoint);
        datasets.set(id, { kind: 'mounted', ...base, device, mountPoint });
      } else if (device === '' || !backend.needsFilesystem || (await hasFilesystemOrAssume(backend, device))) {
        datasets.set(id, { kind: 'attached', ...base, device });
      } else {
        datasets.set(id, { kind: 'attached-no-filesystem', ...base, device });
      }
    }
  }
  if (pool) {
    for (const [id, h] of await pool.inventory()) {
      if (datasets.has(id)) continue;
      if (h.handedOff !== null) {
        datasets.set(id, { kind: 'handed-off', datasetId: id, to: asNodeId(h.handedOff.to), snapshot: h.handedOff.snapshot });
      } else if (h.received.length > 0) {
        datasets.set(id, { kind: 'replica', datasetId: id, snapshot: h.received[h.received.length - 1]! });
      }
    }
  }
  const strayMounts = [...mounts.keys()]
    .filter((m) => !accounted.has(m))
    .sort()
    .map((mountPoint) => ({ datasetId: asDatasetId(mountPoint.slice(mountPoint.lastIndexOf('/') + 1)), mountPoint }));
  return { datasets, strayMounts };
}

/** If the check fails, assume a filesystem: a wrong "no" could lead to mkfs over data. */
async function hasFilesystemOrAssume(backend: StorageBackend, device: string): Promise<boolean> {
  try {
    return await backend.hasFilesystem(device);
  } catch {
    return true;
  }
}
