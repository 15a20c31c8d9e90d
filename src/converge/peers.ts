// PURE. p2p: what the other nodes say about a dataset — who holds the copy in use, who handed
// theirs off to whom, who holds a verified pre-copy. Each node's pool is private, so the cluster
// state is the only way one node learns what another holds.
import { DEFAULT_TRANSFER_PORT, type ClusterState, type NodeState } from '../model/cluster-state.js';
import type { DatasetId, NodeId } from '../model/ids.js';
import type { Peer } from './changes.js';


export interface Holder {
  readonly node: NodeState;
  /** True when the holder exposes it (the data may still be changing there). */
  readonly mounted: boolean;
}

function others(cluster: ClusterState, me: NodeId): NodeState[] {
  return Object.values(cluster.nodes).filter((n) => n.uuid !== me).sort((a, b) => a.uuid.localeCompare(b.uuid));
}

/** The node holding the usable copy: it reports the dataset mounted, or present and exposed nowhere. */
export function holderOf(cluster: ClusterState, id: DatasetId, me: NodeId): Holder | undefined {
  for (const node of others(cluster, me)) {
    if (node.report?.manifestations.some((m) => m.datasetId === id)) return { node, mounted: true };
  }
  for (const node of others(cluster, me)) {
    if (node.report?.nonManifest.some((m) => m.datasetId === id)) return { node, mounted: false };
  }
  return undefined;
}

/** The node that handed its copy off to `me` (and so still serves the final copy to me). */
export function giverTo(cluster: ClusterState, id: DatasetId, me: NodeId): { readonly node: NodeState; readonly snapshot: string } | undefined {
  for (const node of others(cluster, me)) {
    const h = node.report?.handedOff?.find((x) => x.datasetId === id && x.to === me);
    if (h) return { node, snapshot: h.snapshot };
  }
  return undefined;
}

export function hasReplica(node: NodeState | undefined, id: DatasetId): boolean {
  return node?.report?.replicas?.some((r) => r.datasetId === id) ?? false;
}

export function mountedElsewhere(cluster: ClusterState, id: DatasetId, me: NodeId): NodeState | undefined {
  return others(cluster, me).find((n) => n.report?.manifestations.some((m) => m.datasetId === id));
}

/** Some other node says anything at all about the dataset (so it exists somewhere). */
export function knownElsewhere(cluster: ClusterState, id: DatasetId, me: NodeId): NodeState | undefined {
  return others(cluster, me).find((n) => {
    const r = n.report;
    if (!r) return false;
    return r.manifestations.some((m) => m.datasetId === id) || r.nonManifest.some((m) => m.datasetId === id)
      || (r.replicas?.some((m) => m.datasetId === id) ?? false) || (r.handedOff?.some((m) => m.datasetId === id) ?? false);
  });
}

/** Known nodes that are not connected, or connected but not yet reported: they may hold data we cannot see. */
export function silentNodes(cluster: ClusterState, me: NodeId): NodeState[] {
  return others(cluster, me).filter((n) => !n.connected || n.report === null);
}

export function peerOf(node: NodeState): Peer {
  return { nodeId: node.uuid, host: node.host, port: node.transferPort ?? DEFAULT_TRANSFER_PORT };
}
