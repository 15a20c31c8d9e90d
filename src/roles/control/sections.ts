import type { ClusterEventType } from '../../protocol/events.js';

/** A part of what the control service shows; each is also the name of its event on GET /v1/events. */
export type Section = Exclude<ClusterEventType, 'snapshot' | 'tick' | 'resumed'>;
