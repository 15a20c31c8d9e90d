// The backends `cluster up` can run. p2p is named here before the agent knows it (it is being
// built on another branch): choosing it says so plainly until this build's agent has it.
import { BACKENDS, type BackendName } from '../../backends/backend.js';
import { UserError } from '../../errors.js';

export type ClusterBackend = BackendName | 'p2p';
export const CLUSTER_BACKENDS: readonly ClusterBackend[] = [...new Set<ClusterBackend>([...BACKENDS, 'p2p'])];

/** p2p nodes share nothing: each has its own pool and serves transfers to its peers. */
export const ownPools = (b: ClusterBackend): boolean => b === 'p2p';

export function checkClusterBackend(name: string, isRoot: boolean, isolate: boolean): ClusterBackend {
  if (!CLUSTER_BACKENDS.includes(name as ClusterBackend)) {
    throw new UserError(`--backend must be one of ${CLUSTER_BACKENDS.join(', ')}, got ${JSON.stringify(name)}`);
  }
  const backend = name as ClusterBackend;
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new UserError(`--backend ${backend}: this build of flocker has no ${backend} backend yet`);
  }
  if (isolate && !isRoot) {
    throw new UserError('--isolate gives every node its own network and mount namespace: run as root');
  }
  if ((backend === 'loopback' || backend === 'p2p') && !isRoot) {
    throw new UserError(`--backend ${backend} attaches loop devices and mounts filesystems: run as root, or use --backend directory`);
  }
  return backend;
}
