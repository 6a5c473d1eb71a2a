/** Errors raised by state store implementations (shared so every store throws the same classes). */
import { HydrantError } from '../core/errors.ts';

/** A transaction's condition did not hold; nothing was applied. */
export class StateConflictError extends HydrantError {
  constructor(key: string) {
    super('STATE_CONFLICT', `state store condition on key ${JSON.stringify(key)} did not hold; nothing was written. Another writer changed it: re-read and retry.`, { details: { key } });
  }
}

/** Another live process holds the state directory's lock file. */
export class StateLockedError extends HydrantError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('STATE_LOCKED', message, details === undefined ? undefined : { details });
  }
}

/** A transaction was rejected before anything was written (bad key or a value JSON cannot carry). */
export class StateValueError extends HydrantError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('STATE_INVALID_VALUE', message, details === undefined ? undefined : { details });
  }
}

/** The store can no longer write: it was closed, or a write or fsync failed and it must be reopened. */
export class StateUnavailableError extends HydrantError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_UNAVAILABLE', message, options);
  }
}
