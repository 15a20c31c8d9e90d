// Two simulated nodes over one real pool: each pass is discover → plan → execute → report,
// and the reports form the cluster state the other node plans against (as control relays it).
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { StorageBackend } from '../../src/backends/backend.js';
import { IDLE_MS, isNoop } from '../../src/converge/changes.js';
import { sharedState } from '../../src/converge/dataset-state.js';
import { execute } from '../../src/converge/execute.js';
import { expectedAfter } from '../../src/converge/expected.js';
import { plan, type Plan } from '../../src/converge/plan.js';
import type { ClusterState, NodeState } from '../../src/model/cluster-state.js';
import type { Deployment } from '../../src/model/configuration.js';
import type { Result } from '../../src/model/errors.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { discoverLocal } from '../../src/roles/agent/discover.js';
import { NOW } from './fixtures.js';

export interface SimNode { id: NodeId; backend: StorageBackend; mountRoot: string; report?: NodeState }

export const unwrap = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};

export class Sim {
  constructor(readonly nodes: SimNode[], readonly datasetId: DatasetId) {}

  cluster(): ClusterState {
    return { nodes: Object.fromEntries(this.nodes.filter((n) => n.report).map((n) => [n.id, n.report!])) };
  }

  forget(): void {
    for (const n of this.nodes) delete n.report;
  }

  /** Which nodes expose the dataset right now, by what each node's mount root really shows. */
  async exposedOn(): Promise<NodeId[]> {
    const out: NodeId[] = [];
    for (const n of this.nodes) {
      const m = await n.backend.listMounts(n.mountRoot);
      if (m.has(join(n.mountRoot, this.datasetId))) out.push(n.id);
    }
    return out;
  }

  /** One node's pass. */
  async pass(n: SimNode, config: Deployment): Promise<Plan> {
    const local = await discoverLocal(n.backend, n.mountRoot);
    const p = plan({
      nodeId: n.id, configuration: config, cluster: this.cluster(), local, mountRoot: n.mountRoot, now: NOW,
      allocationUnit: n.backend.allocationUnit(), needsFilesystem: n.backend.needsFilesystem, volumeIdFor: (id) => n.backend.volumeIdFor(id),
    });
    const r = await execute(p.change, n.backend);
    assert.equal(r.failures, [], `${n.id.slice(0, 8)}: ${JSON.stringify(r.failures)}`);
    const after = await discoverLocal(n.backend, n.mountRoot);
    // What the loop reports before this reading must be what the reading then shows.
    const expected = expectedAfter(local, p.change, (id) => n.backend.volumeIdFor(id));
    if (expected) assert.equal(sharedState(expected), sharedState(after), `${n.id.slice(0, 8)}: foretold ≠ read back after ${JSON.stringify(p.change)}`);
    n.report = {
      uuid: n.id, host: '127.0.0.1', era: 'e', lastSeen: NOW, connected: true,
      report: { ...sharedState(after), progress: p.progress.map((x) => ({ ...x, since: NOW })) },
    };
    return p;
  }

  /** Nodes pass in turn until none has work (≤ 20 rounds); the dataset is never exposed on two. */
  async converge(config: Deployment, order: SimNode[] = this.nodes): Promise<{ rounds: number; last: Plan[] }> {
    for (let round = 1; round <= 20; round++) {
      const plans: Plan[] = [];
      for (const n of order) {
        plans.push(await this.pass(n, config));
        assert.ok((await this.exposedOn()).length <= 1, `round ${round}: exposed on two nodes`);
      }
      if (plans.every((p) => isNoop(p.change) && p.change.wakeAfterMs === IDLE_MS)) return { rounds: round, last: plans };
    }
    throw new Error('did not converge in 20 rounds');
  }
}
