/**
 * Retry with exponential back-off for the errors that mean "try again later":
 * {@link ConnectionError} (lost or refused connection) and {@link BackoffError} (throttled; it
 * says how long to wait). Anything else is a real failure and is thrown at once.
 */
import { BackoffError, ConnectionError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { sleep } from '../core/sleep.ts';

/** Back-off bounds. */
export interface BackoffOptions {
  /** First delay (default 100 ms). */
  readonly initialMs?: number;
  /** Largest delay (default 30 s). */
  readonly maxMs?: number;
}

/** true for errors the runtime retries. */
export function isRetryable(err: unknown): err is ConnectionError | BackoffError {
  return err instanceof ConnectionError || err instanceof BackoffError;
}

export { sleep };

/**
 * Runs `fn` until it succeeds, waiting between retryable failures (doubling up to `maxMs`,
 * with jitter so many workers do not retry in lockstep, or the BackoffError's own delay).
 * Gives up (rethrows the last error) once `signal` aborts.
 */
export async function withBackoff<T>(what: string, logger: Logger, signal: AbortSignal, fn: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 30_000;
  let delay = initial;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await fn();
      if (attempt > 1) logger.info(`${what}: recovered`, { attempts: attempt });
      return out;
    } catch (err) {
      if (!isRetryable(err) || signal.aborted) throw err;
      const wait = err instanceof BackoffError ? Math.max(err.retryAfterMs, 1) : Math.round(delay * (0.5 + Math.random() / 2));
      logger.warn(`${what}: ${err.message}; retrying in ${wait} ms`, { attempt, code: err.code });
      await sleep(wait, signal);
      if (signal.aborted) throw err;
      delay = Math.min(max, delay * 2);
    }
  }
}
