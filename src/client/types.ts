// The typed REST v1 client's surface, shared by the CLI, the plugin and the dashboard.
import type {
  ApiConvergenceRow, ApiCreateDataset, ApiDatasetConfig, ApiDatasetState, ApiLease, ApiManifest, ApiNode,
} from '../protocol/api-json.js';
import type { ClusterEvent } from '../protocol/events.js';
import { UserError } from '../errors.js';

export interface ControlAddress {
  readonly host: string;
  readonly port: number;
}

export interface ClientOptions {
  /** The first address to try. */
  readonly host: string;
  readonly port: number;
  /**
   * More replicas of the control service, tried in order when the current one cannot be reached
   * (a request that never got through moves on at once; one that did is never repeated elsewhere).
   */
  readonly fallbacks?: readonly ControlAddress[];
  /** Told whenever the client moves to another address: say which one is in use. */
  readonly onFailover?: (to: string, from: string, reason: string) => void;
  /** PEM text. */
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
  /** Per-request timeout, ms (default 30 s). */
  readonly timeoutMs?: number;
  /**
   * events(): fail when the stream stays silent this long, ms (default 60 s; the control
   * service sends a heartbeat every 15 s), so a vanished peer is noticed and the caller can reconnect.
   */
  readonly eventsIdleTimeoutMs?: number;
}

export interface Conditional {
  /** X-If-Configuration-Matches */
  readonly ifConfigurationMatches?: string;
}

export interface ControlClient {
  /** HOST:PORT of the control service this client talks to now. */
  readonly address: string;
  version(): Promise<{ flocker: string }>;
  listDatasets(): Promise<{ datasets: ApiDatasetConfig[]; tag: string }>;
  createDataset(body: ApiCreateDataset, cond?: Conditional): Promise<ApiDatasetConfig>;
  /** force: allowed off an unreachable node, which the control service then fences. */
  moveDataset(datasetId: string, primary: string, cond?: Conditional, opts?: { force?: boolean }): Promise<ApiDatasetConfig>;
  deleteDataset(datasetId: string, cond?: Conditional): Promise<ApiDatasetConfig>;
  stateDatasets(): Promise<ApiDatasetState[]>;
  stateNodes(): Promise<ApiNode[]>;
  /** Ours: the manifests nodes read in their pools (for `flocker adopt`). */
  stateManifests(): Promise<ApiManifest[]>;
  /** Resolves undefined on 404. */
  nodeByEra(era: string): Promise<{ uuid: string } | undefined>;
  listLeases(): Promise<ApiLease[]>;
  acquireLease(datasetId: string, nodeUuid: string, expires: number | null): Promise<ApiLease>;
  releaseLease(datasetId: string): Promise<ApiLease>;
  convergence(): Promise<ApiConvergenceRow[]>;
  /**
   * GET /v1/events: yields the snapshot, then every change, until the signal aborts or the stream
   * ends. With `cursor`, asks to resume from `cursor.lastEventId` (then the stream may start with
   * `resumed` instead of a snapshot), and keeps it at the last event id yielded.
   */
  events(signal?: AbortSignal, cursor?: EventCursor): AsyncIterable<ClusterEvent>;
  close(): void;
}

/** Where a follower is in the event stream, kept across its reconnects. */
export interface EventCursor {
  lastEventId?: string;
}

/**
 * The API answered with an error status: carries Flocker's description (and schema errors).
 * Thrown as a user-facing error by the CLI.
 */
export class ApiRequestError extends UserError {
  override readonly name = 'ApiRequestError';
  constructor(readonly status: number, readonly description: string, readonly errors?: readonly string[]) {
    super(errors && errors.length > 0 ? `${description} ${errors.join('; ')}` : description);
  }
}
