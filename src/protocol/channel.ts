// The agent channel (port 4524): JSON messages, one per WebSocket text frame, over mutual TLS.
// Both sides push: the agent its state whenever it changes, control the configuration and
// cluster state whenever either changes — a full `cluster` snapshot on connect (and on request),
// then a `delta` per change, each naming the generation it applies to.
import type { DeploymentJson } from '../model/configuration.js';
import type { ClusterState, NodeReport } from '../model/cluster-state.js';
import type { ViewDelta } from './delta.js';

export const CHANNEL_VERSION = 1;
export const CHANNEL_PATH = '/v1/agent';

export type AgentMessage =
  /**
   * First message after connecting. The node UUID comes from the TLS certificate, not from here.
   * `address` is where peers reach this node (its `host` in the cluster state; control uses the
   * connection's remote address when it is absent); `transferPort` its agent-to-agent port;
   * `name` (agent.yml, optional: older agents omit it) is only for people to read.
   */
  | {
      readonly type: 'hello'; readonly version: number; readonly era: string;
      readonly address?: string; readonly transferPort?: number; readonly name?: string;
    }
  /** Full local state; sent on connect and whenever it differs from the last one sent. */
  | { readonly type: 'report'; readonly report: NodeReport }
  /** A delta did not follow the generation held (or could not be applied): send a snapshot. */
  | { readonly type: 'resync' };

export type ControlMessage =
  /** The whole view: after hello, on resync, and to an agent that missed a delta. */
  | {
      readonly type: 'cluster';
      readonly generation: number;
      readonly configuration: DeploymentJson;
      readonly cluster: ClusterState;
      /**
       * The store the configuration came from: its identity (made when it was created) and its
       * generation (grows with every committed change). Agents refuse to act destructively on a
       * configuration from another store or older than one they have acted on.
       */
      readonly store: { readonly identity: string; readonly generation: number };
      /** Control's clock, epoch ms, so agents can judge lease expiry without clock agreement. */
      readonly now: number;
    }
  /** What changed since generation `from` (bursts coalesced, never delayed on a timer). */
  | {
      readonly type: 'delta';
      readonly from: number;
      readonly generation: number;
      readonly changes: ViewDelta;
      /** The store and its generation after these changes (as in `cluster`); absent from older controls. */
      readonly store?: { readonly identity: string; readonly generation: number };
      readonly now: number;
    }
  /** Fatal refusal (e.g. another agent already connected with this node certificate); then close. */
  | { readonly type: 'refused'; readonly reason: string };
