/** Errors raised while building or reading current-state tables. */
import { HydrantError } from '../../core/errors.ts';

/** A change cannot be merged into a current-state table (no key, key columns missing, ...). */
export class MergeError extends HydrantError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('MERGE_FAILED', message, details === undefined ? undefined : { details });
  }
}
