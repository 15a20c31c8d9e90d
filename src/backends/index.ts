// The one place that turns agent.yml's `dataset.backend` into a StorageBackend.
import type { DatasetConfig } from '../config/agent-config.js';
import type { NodeId } from '../model/ids.js';
import type { StorageBackend } from './backend.js';
import { DirectoryBackend } from './directory.js';
import { LoopbackBackend } from './loopback.js';

export function createBackend(config: DatasetConfig, nodeId: NodeId): StorageBackend {
  const opts = {
    rootPath: config.rootPath,
    // The node UUID survives restarts, so a restarted agent still owns its attachments.
    computeInstanceId: config.computeInstanceId ?? nodeId,
    allocationUnit: config.allocationUnit,
  };
  switch (config.backend) {
    case 'directory':
      return new DirectoryBackend(opts);
    case 'loopback':
      return new LoopbackBackend(opts);
  }
}
