/**
 * Resolves after `ms`, or early (without error) when `signal` aborts. `ms <= 0` still waits for
 * a timer tick: callers poll with `sleep(0)` to let I/O run, and a resolved promise would not.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}
