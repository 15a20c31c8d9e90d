import type { DatasetId, NodeId } from './ids.js';

/** Why a model transform refused; routes translate each kind into Flocker's HTTP error. */
export type ModelError =
  | { readonly kind: 'dataset-exists'; readonly datasetId: DatasetId }
  | { readonly kind: 'dataset-not-found'; readonly datasetId: DatasetId }
  | { readonly kind: 'dataset-deleted'; readonly datasetId: DatasetId }
  | { readonly kind: 'lease-held'; readonly datasetId: DatasetId; readonly holder: NodeId }
  | { readonly kind: 'lease-not-found'; readonly datasetId: DatasetId }
  /** Ours: a move off a node silent past --node-timeout, without force. */
  | { readonly kind: 'node-unreachable'; readonly datasetId: DatasetId; readonly node: NodeId; readonly timeoutSeconds: number };

export type Result<T, E = ModelError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
