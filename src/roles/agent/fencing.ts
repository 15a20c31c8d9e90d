// IMPURE. The agent's side of fencing tokens, run before the actions that touch a volume: the node
// a dataset was forced to records the fence in the pool first; a node the pool says was fenced off
// the dataset may not attach or mount it unless its own configuration has heard of that fence
// (i.e. the dataset was since given back to it on purpose).
import type { FenceTokens } from '../../backends/fence-tokens.js';
import type { Action } from '../../converge/changes.js';
import type { Deployment } from '../../model/configuration.js';
import { shortId, type NodeId } from '../../model/ids.js';

export class FencedError extends Error {
  override readonly name = 'FencedError';
}

export function fenceCheck(tokens: FenceTokens, nodeId: NodeId, configuration: () => Deployment | undefined) {
  return async (a: Action): Promise<void> => {
    if (a.kind !== 'attach' && a.kind !== 'mount' && a.kind !== 'detach') return;
    const ds = configuration()?.datasets.get(a.datasetId);
    const fence = ds?.fence;
    let token = await tokens.read(a.datasetId);
    if (ds && fence && ds.primary === nodeId && fence.node !== nodeId && (!token || token.epoch < fence.epoch)) {
      token = { epoch: fence.epoch, fenced: fence.node, holder: nodeId };
      await tokens.write(a.datasetId, token);
    }
    if (a.kind === 'detach' || !token || token.fenced !== nodeId) return;
    if ((fence?.epoch ?? 0) >= token.epoch) return;
    throw new FencedError(
      `fenced: a forced move (epoch ${token.epoch}) gave dataset ${a.datasetId} to node ${shortId(token.holder)}; this node may not `
      + 'attach or mount it until the control service gives it back',
    );
  };
}
