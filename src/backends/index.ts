// The one place that turns agent.yml's `dataset.backend` into a StorageBackend.
import type { NodeId } from '../model/ids.js';
import { UserError } from '../errors.js';
import type { BackendName, StorageBackend } from './backend.js';
import { isSafeName } from './fsutil.js';
import { DirectoryBackend } from './directory.js';
import { LoopbackBackend } from './loopback.js';
import { P2PBackend } from './p2p/backend.js';

/** What a backend needs from agent.yml's `dataset` section (config/ hands it over; we never read it). */
export interface BackendConfig {
  readonly backend: BackendName;
  readonly rootPath: string;
  readonly computeInstanceId?: string;
  readonly allocationUnit: number;
}

export function createBackend(config: BackendConfig, nodeId: NodeId): StorageBackend {
  const id = config.computeInstanceId ?? nodeId;
  // It names a directory in the pool, so it must be one plain path component.
  if (!isSafeName(id)) {
    throw new UserError(`dataset.compute_instance_id ${JSON.stringify(id)} must be letters, digits and . _ : @ - (starting with a letter or digit)`);
  }
  const opts = {
    rootPath: config.rootPath,
    // The node UUID survives restarts, so a restarted agent still owns its attachments.
    computeInstanceId: id,
    allocationUnit: config.allocationUnit,
  };
  switch (config.backend) {
    case 'directory':
      return new DirectoryBackend(opts);
    case 'loopback':
      return new LoopbackBackend(opts);
    case 'p2p':
      return new P2PBackend(opts);
  }
}
