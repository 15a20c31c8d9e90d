// What agents are told of each other: holdings, never progress or manifests, and no push at all
// when a node's report changed only in those.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMPTY_DEPLOYMENT } from '../../src/model/configuration.js';
import type { ClusterState, NodeReport, NodeState } from '../../src/model/cluster-state.js';
import type { DatasetId, NodeId } from '../../src/model/ids.js';
import { diffView } from '../../src/protocol/delta.js';
import { AgentCluster } from '../../src/roles/control/agent-cluster.js';

const N = '1a2b3c4d-0000-4000-8000-00000000000a' as NodeId;
const D = 'd1d1d1d1-0000-4000-8000-000000000001' as DatasetId;

function cluster(report: NodeReport, lastSeen = 1): ClusterState {
  const node: NodeState = { uuid: N, host: '10.0.0.1', era: 'e', lastSeen, connected: true, report };
  return { nodes: { [N]: node } };
}
const creating: NodeReport = { manifestations: [], nonManifest: [], progress: [{ datasetId: D, phase: 'creating', reason: 'making it', since: 1 }] };
const mounting: NodeReport = {
  manifestations: [], nonManifest: [], progress: [{ datasetId: D, phase: 'mounting', reason: 'mounting it', since: 2 }],
  manifests: [{ datasetId: D, maximumSize: null, metadata: { name: 'x' }, held: true }],
};
const mounted: NodeReport = { manifestations: [{ datasetId: D, path: '/flocker/x', maximumSize: null }], nonManifest: [], progress: [] };

const views = (ac: AgentCluster, c: ClusterState) => ({ configuration: EMPTY_DEPLOYMENT, cluster: ac.view(c) });

test('a report that changed only its progress or manifests changes nothing agents are told', () => {
  const ac = new AgentCluster();
  const a = views(ac, cluster(creating));
  const b = views(ac, cluster(mounting, 2));
  assert.is(diffView(a, b), undefined);
  assert.equal(b.cluster.nodes[N]!.report, { manifestations: [], nonManifest: [], progress: [] });
});

test('a report that changed what the node holds is told, without its progress', () => {
  const ac = new AgentCluster();
  const a = views(ac, cluster(creating));
  const b = views(ac, cluster(mounted, 2));
  const d = diffView(a, b);
  assert.equal(d?.nodes?.set?.[N]?.report?.manifestations, mounted.manifestations);
  assert.equal(d?.nodes?.set?.[N]?.report?.progress, []);
});

test('a node that leaves is forgotten, and told afresh when it comes back', () => {
  const ac = new AgentCluster();
  const a = views(ac, cluster(mounted));
  const gone = views(ac, { nodes: {} });
  assert.equal(diffView(a, gone)?.nodes?.remove, [N]);
  const back = views(ac, cluster(mounted));
  assert.ok(diffView(gone, back)?.nodes?.set?.[N]);
});

test.run();
