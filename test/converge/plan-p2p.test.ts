// The p2p rows of the planner's table: a move copies data from the holder's private pool, pre-copy
// while in use, hand-off, final copy, and only then is the old copy removed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IDLE_MS, noop, POLL_MS, type Change } from '../../src/converge/changes.js';
import type { DiscoveredDataset } from '../../src/converge/dataset-state.js';
import { plan, type PlanInput } from '../../src/converge/plan.js';
import type { ClusterState, NodeReport, NodeState } from '../../src/model/cluster-state.js';
import type { NodeId } from '../../src/model/ids.js';
import { A, B, D1, dataset, deployment, found, GiB, input, local, mp, NOW, testRows, vol, type PlanRow } from './fixtures.js';

const HOST_A = '10.9.0.2';
const HOST_B = '10.9.0.3';
const from = (n: NodeId) => ({ nodeId: n, host: n === A ? HOST_A : HOST_B, port: 4526 });
const replica = (snapshot = 's1'): DiscoveredDataset => ({ kind: 'replica', datasetId: D1, snapshot });
const handedOff = (to: NodeId, snapshot = 's9'): DiscoveredDataset => ({ kind: 'handed-off', datasetId: D1, to, snapshot });
const seq = (...changes: Change[]): Change => ({ kind: 'sequence', changes });

function node(uuid: NodeId, report: Partial<NodeReport> | null, connected = true): NodeState {
  return {
    uuid, host: uuid === A ? HOST_A : HOST_B, era: 'e', lastSeen: NOW, connected, transferPort: 4526,
    report: report === null ? null : { manifestations: [], nonManifest: [], progress: [], ...report },
  };
}
const cluster = (...nodes: NodeState[]): ClusterState => ({ nodes: Object.fromEntries(nodes.map((n) => [n.uuid, n])) });
const mountedOn = (uuid: NodeId, connected = true) => node(uuid, { manifestations: [{ datasetId: D1, path: mp(D1), maximumSize: 10 * GiB }] }, connected);
const idleOn = (uuid: NodeId) => node(uuid, { nonManifest: [{ datasetId: D1, maximumSize: 10 * GiB }] });

const onB = deployment([dataset(D1, B)]);
const onA = deployment([dataset(D1, A)]);
// This node is B (the destination) unless said otherwise.
const p2p = (over: Partial<PlanInput> & Pick<PlanInput, 'configuration' | 'local'>): PlanInput =>
  input({ nodeId: B, peerToPeer: true, needsFilesystem: true, ...over });

const unmount: Change = { kind: 'unmount', datasetId: D1, mountPoint: mp(D1) };
const detach: Change = { kind: 'detach', datasetId: D1, volumeId: vol(D1) };


const ROWS: PlanRow[] = [
  // destination (configured here, no usable copy)
  { name: 'new dataset, nobody has it, every node reported → create', in: p2p({ configuration: onB, local: local(), cluster: cluster(node(A, {})) }),
    change: {
      kind: 'sequence',
      changes: [
        { kind: 'create-volume', datasetId: D1, size: 10 * GiB },
        { kind: 'attach', datasetId: D1, volumeId: vol(D1) },
        { kind: 'create-filesystem', datasetId: D1, volumeId: vol(D1) },
        { kind: 'mount', datasetId: D1, volumeId: vol(D1), mountPoint: mp(D1) },
      ],
    },
    phase: 'creating' },
  { name: 'nobody reports it but a node is silent → wait, never create a second history', in: p2p({ configuration: onB, local: local(), cluster: cluster(node(A, null)) }),
    change: noop(POLL_MS), phase: 'pending', reason: /waiting for node 1a2b3c4d to report/ },
  { name: 'holder uses it → pre-copy while in use', in: p2p({ configuration: onB, local: local(), cluster: cluster(mountedOn(A)) }),
    change: { kind: 'pull', datasetId: D1, from: from(A), final: false, mountPoint: mp(D1) }, phase: 'moving-in', reason: /while it stays in use there/ },
  { name: 'pre-copied, holder still uses it → wait for the hand-off', in: p2p({ configuration: onB, local: local(replica()), cluster: cluster(mountedOn(A)) }),
    change: noop(POLL_MS), phase: 'moving-in', reason: /pre-copied; waiting for node 1a2b3c4d to unmount/ },
  { name: 'pre-copied, holder leases it → waiting-for-lease',
    in: p2p({ configuration: deployment([dataset(D1, B)], [{ datasetId: D1, nodeId: A, expiresAt: null }]), local: local(replica()), cluster: cluster(mountedOn(A)) }),
    change: noop(POLL_MS), phase: 'waiting-for-lease' },
  { name: 'holder let go → final copy', in: p2p({ configuration: onB, local: local(replica()), cluster: cluster(idleOn(A)) }),
    change: { kind: 'pull', datasetId: D1, from: from(A), final: true, mountPoint: mp(D1) }, phase: 'moving-in', reason: /last changes/ },
  { name: 'holder let go before any pre-copy → final copy straight away', in: p2p({ configuration: onB, local: local(), cluster: cluster(idleOn(A)) }),
    change: { kind: 'pull', datasetId: D1, from: from(A), final: true, mountPoint: mp(D1) }, phase: 'moving-in' },
  { name: 'holder handed off to us, final received → promote', in: p2p({ configuration: onB, local: local(replica('s9')), cluster: cluster(node(A, { handedOff: [{ datasetId: D1, to: B, snapshot: 's9' }] })) }),
    change: { kind: 'promote', datasetId: D1, snapshot: 's9' }, phase: 'moving-in' },
  { name: 'holder handed off to us, final not yet here (crash) → pull the final again', in: p2p({ configuration: onB, local: local(replica('s1')), cluster: cluster(node(A, { handedOff: [{ datasetId: D1, to: B, snapshot: 's9' }] })) }),
    change: { kind: 'pull', datasetId: D1, from: from(A), final: true, mountPoint: mp(D1) }, phase: 'moving-in' },
  { name: 'the only copy is on an unreachable node → say so and wait', in: p2p({ configuration: onB, local: local(), cluster: cluster(mountedOn(A, false)) }),
    change: noop(POLL_MS), phase: 'moving-in', reason: /^node 1a2b3c4d is unreachable; the only copy is there$/ },
  { name: 'converged destination → nothing', in: p2p({ configuration: onB, local: local(found.mounted(D1)), cluster: cluster(node(A, {})) }),
    change: noop(IDLE_MS), phase: 'converged' },

  // source (this node is A, the dataset is configured on B)
  { name: 'source in use, destination has no copy yet → stay mounted', in: p2p({ nodeId: A, configuration: onB, local: local(found.mounted(D1)), cluster: cluster(node(B, {})) }),
    change: noop(POLL_MS), phase: 'moving-out', reason: /copying the data while it stays in use here/ },
  { name: 'source in use, destination pre-copied → unmount and detach (hand-off)',
    in: p2p({ nodeId: A, configuration: onB, local: local(found.mounted(D1)), cluster: cluster(node(B, { replicas: [{ datasetId: D1, snapshot: 's1' }] })) }),
    change: seq(unmount, detach), phase: 'moving-out', reason: /pre-copied the data; unmounting to hand off/ },
  { name: 'source leases it → never unmounted, even with a pre-copy',
    in: p2p({ nodeId: A, configuration: deployment([dataset(D1, B)], [{ datasetId: D1, nodeId: A, expiresAt: null }]), local: local(found.mounted(D1)), cluster: cluster(node(B, { replicas: [{ datasetId: D1, snapshot: 's1' }] })) }),
    change: noop(IDLE_MS), phase: 'waiting-for-lease' },
  { name: 'source let go → keeps the only copy until the final is taken', in: p2p({ nodeId: A, configuration: onB, local: local(found.nonManifest(D1)), cluster: cluster(node(B, {})) }),
    change: noop(POLL_MS), phase: 'moving-out', reason: /waiting for node 5e6f7a8b to copy the last changes/ },
  { name: 'handed off, destination not mounted yet → keep the copy', in: p2p({ nodeId: A, configuration: onB, local: local(handedOff(B)), cluster: cluster(node(B, { replicas: [{ datasetId: D1, snapshot: 's9' }] })) }),
    change: noop(POLL_MS), phase: 'moving-out', reason: /keeping this copy until it is mounted there/ },
  { name: 'handed off, destination mounted it → discard the old copy', in: p2p({ nodeId: A, configuration: onB, local: local(handedOff(B)), cluster: cluster(mountedOn(B)) }),
    change: { kind: 'discard', datasetId: D1 }, phase: 'moving-out' },
  { name: 'stale pre-copy on a bystander → discard', in: p2p({ nodeId: A, configuration: onB, local: local(replica()), cluster: cluster(mountedOn(B)) }),
    change: { kind: 'discard', datasetId: D1 } },
  { name: 'moved back before the destination promoted: the final it holds is the only good copy → promote it',
    in: p2p({ nodeId: B, configuration: onA, local: local(replica('s9')), cluster: cluster(node(A, { handedOff: [{ datasetId: D1, to: B, snapshot: 's9' }] })) }),
    change: { kind: 'promote', datasetId: D1, snapshot: 's9' }, phase: 'moving-out' },
  { name: 'moved back: the old holder pulls from the node it handed off to',
    in: p2p({ nodeId: A, configuration: onA, local: local(handedOff(B)), cluster: cluster(idleOn(B)) }),
    change: { kind: 'pull', datasetId: D1, from: from(B), final: true, mountPoint: mp(D1) }, phase: 'moving-in' },

  // deleted: every node's pool is private, so whoever holds something destroys it
  { name: 'deleted, held here but configured elsewhere → destroyed here too', in: p2p({ nodeId: A, configuration: deployment([dataset(D1, B, { deleted: true })]), local: local(found.nonManifest(D1)) }),
    change: { kind: 'destroy', datasetId: D1, volumeId: vol(D1) }, phase: 'deleting' },
  { name: 'deleted, a replica here → discard', in: p2p({ configuration: deployment([dataset(D1, B, { deleted: true })]), local: local(replica()) }),
    change: { kind: 'discard', datasetId: D1 }, phase: 'deleting' },
  { name: 'deleted, a handed-off copy here → discard', in: p2p({ configuration: deployment([dataset(D1, B, { deleted: true })]), local: local(handedOff(A)) }),
    change: { kind: 'discard', datasetId: D1 }, phase: 'deleting' },
];

testRows(ROWS);

test('a whole move, both sides, step by step: never exposed on two nodes, old copy removed last', () => {
  // A holds it mounted; the configuration says B.
  let a: DiscoveredDataset | undefined = found.mounted(D1);
  let b: DiscoveredDataset | undefined;
  const report = (d: DiscoveredDataset | undefined): Partial<NodeReport> => {
    if (!d) return {};
    switch (d.kind) {
      case 'mounted': return { manifestations: [{ datasetId: D1, path: mp(D1), maximumSize: 10 * GiB }] };
      case 'non-manifest': case 'attached': return { nonManifest: [{ datasetId: D1, maximumSize: 10 * GiB }] };
      case 'replica': return { replicas: [{ datasetId: D1, snapshot: d.snapshot }] };
      case 'handed-off': return { handedOff: [{ datasetId: D1, to: d.to, snapshot: d.snapshot }] };
      default: return {};
    }
  };
  const kinds: string[] = [];
  for (let i = 0; i < 20 && !(b?.kind === 'mounted' && a === undefined); i++) {
    const c = cluster(node(A, report(a)), node(B, report(b)));
    const pb = plan(p2p({ nodeId: B, configuration: onB, local: local(...(b ? [b] : [])), cluster: c })).change;
    const pa = a ? plan(p2p({ nodeId: A, configuration: onB, local: local(a), cluster: c })).change : noop();
    // Apply B's step, then A's, as the agents would.
    if (pb.kind === 'pull' && !pb.final) b = replica('s1');
    else if (pb.kind === 'pull' && pb.final) {
      assert.ok(a?.kind !== 'mounted', 'the final copy is only taken after the source unmounted');
      a = handedOff(B, 's2');
      b = replica('s2');
    } else if (pb.kind === 'promote') b = found.attached(D1);
    else if (pb.kind === 'mount') b = found.mounted(D1);
    if (pa.kind === 'sequence') a = found.nonManifest(D1);
    else if (pa.kind === 'discard') a = undefined;
    assert.ok(!(a?.kind === 'mounted' && b?.kind === 'mounted'), 'never mounted on both');
    kinds.push(`${a?.kind ?? '-'}/${b?.kind ?? '-'}`);
  }
  assert.is(b?.kind, 'mounted', kinds.join(' → '));
  assert.is(a, undefined, kinds.join(' → '));
});

test.run();
