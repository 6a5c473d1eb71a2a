/**
 * `COPY ... TO STDOUT` on a `pg.Client` as a submittable query: CopyData messages go straight to
 * a callback (synchronously, while `pg`'s read buffer is still valid), and the socket can be
 * paused while the consumer is behind, so a chunk never piles up in memory.
 */
import type pg from 'pg';

/** A running COPY. */
export interface CopyOut {
  /** Resolves when the server finished the COPY (after the last chunk was delivered). */
  readonly done: Promise<void>;
  /** Stops reading from the socket (the server blocks once its buffers are full). */
  pause(): void;
  resume(): void;
}

interface PgConnection {
  query(text: string): void;
  readonly stream: { pause(): void; resume(): void };
}

/** Starts `sql` (a `COPY ... TO STDOUT` statement) on `client`; `onData` gets every CopyData payload. */
export function copyOut(client: pg.Client, sql: string, onData: (chunk: Buffer) => void): CopyOut {
  let connection: PgConnection | undefined;
  let paused = false;
  let failure: unknown;
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const submittable = {
    submit(con: PgConnection): void {
      connection = con;
      con.query(sql);
    },
    handleCopyData(msg: { chunk: Buffer }): void {
      if (failure !== undefined) return;
      try {
        onData(msg.chunk);
      } catch (err) {
        // Keep draining the server's output (the protocol has no way to cancel a COPY TO mid-way
        // on this connection); report the first error when the server is done.
        failure = err;
        if (paused) connection?.stream.resume();
      }
    },
    handleCommandComplete(): void {},
    handleReadyForQuery(): void {
      if (failure !== undefined) rejectDone(failure);
      else resolveDone();
    },
    handleError(err: unknown): void {
      failure ??= err;
      if (paused) connection?.stream.resume();
      // A server ErrorResponse (a DatabaseError with a severity) is followed by ReadyForQuery;
      // a dead socket is not, so settle now.
      if ((err as { severity?: unknown } | null)?.severity === undefined) rejectDone(failure);
    },
    handleRowDescription(): void {},
    handleDataRow(): void {},
    handleEmptyQuery(): void {},
    handlePortalSuspended(): void {},
    handleCopyInResponse(): void {},
  };
  void (client.query(submittable as unknown as pg.QueryConfig) as unknown);
  return {
    done,
    pause(): void {
      if (paused || failure !== undefined) return;
      paused = true;
      connection?.stream.pause();
    },
    resume(): void {
      if (!paused) return;
      paused = false;
      connection?.stream.resume();
    },
  };
}
