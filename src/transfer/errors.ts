// Why a pull did not happen, typed by what the caller (the agent's planner) should do about it.
import { UserError } from '../errors.js';

export type TransferFailure =
  /** The sender said no (e.g. the dataset is still mounted there, or was handed off elsewhere): ask again later or elsewhere. */
  | 'refused'
  /** This node lacks the space; nothing was transferred. */
  | 'no-space'
  /** The peer could not be reached, or stopped answering, for longer than the pull waits. Resumes on the next pull. */
  | 'unreachable'
  /** The same chunk arrived corrupted again and again, or the whole-stream digest did not match. */
  | 'corrupt'
  /** Anything else (the peer misbehaved, the local pool failed). */
  | 'failed';

export class TransferError extends UserError {
  override readonly name = 'TransferError';
  constructor(readonly failure: TransferFailure, message: string, readonly status?: number) {
    super(message);
  }
}
