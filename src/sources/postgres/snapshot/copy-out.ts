/**
 * `COPY ... TO STDOUT` on a `pg.Client` as a submittable query: CopyData messages go straight to
 * a callback (synchronously, while `pg`'s read buffer is still valid), and the socket can be
 * paused while the consumer is behind, so a chunk never piles up in memory.
 *
 * The pause belongs to the COPY, not to the connection: pausing the socket does not stop `pg`
 * from parsing the rest of the buffer it already read, so a COPY whose last rows, CommandComplete
 * and ReadyForQuery sit in that buffer finishes while paused. Its connection is resumed when the
 * COPY settles; otherwise the next statement on it (the reader's next chunk, or its COMMIT)
 * would wait forever for a reply nobody reads. That hang held the initial load's hand-off to the
 * change stream whenever the readers filled the queue at the end of the load.
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
  let settled = false;
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const settle = (err?: unknown): void => {
    if (settled) return;
    settled = true;
    if (paused) {
      paused = false;
      connection?.stream.resume();
    }
    if (err !== undefined) rejectDone(err);
    else resolveDone();
  };
  const submittable = {
    submit(con: PgConnection): void {
      connection = con;
      // Paused before pg sent the statement (the client was busy): pause now.
      if (paused) con.stream.pause();
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
        if (paused) {
          paused = false;
          connection?.stream.resume();
        }
      }
    },
    handleCommandComplete(): void {},
    handleReadyForQuery(): void {
      settle(failure);
    },
    handleError(err: unknown): void {
      failure ??= err;
      if (paused) {
        paused = false;
        connection?.stream.resume();
      }
      // A server ErrorResponse (a DatabaseError with a severity) is followed by ReadyForQuery;
      // a dead socket is not, so settle now.
      if ((err as { severity?: unknown } | null)?.severity === undefined) settle(failure);
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
      if (paused || failure !== undefined || settled) return;
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
