/**
 * `COPY ... TO STDOUT` on a `pg.Client` as a submittable query: the COPY data goes straight to a
 * callback as byte ranges of the socket's own buffers (synchronously, while they are valid), and
 * the socket can be paused while the consumer is behind, so a chunk never piles up in memory.
 *
 * Speed: while the COPY runs, this module reads the socket itself instead of `pg`'s protocol
 * parser. `pg` makes a message object and a Buffer view per CopyData message (one per row) and
 * emits it through two event hops; at a million rows that was a third of the receive cost and a
 * good part of the garbage. The split is at message boundaries: `pg`'s data listener is swapped
 * out when the statement is sent (the connection is idle then, so `pg`'s parser holds no partial
 * message), CopyData ('d') is handled here, asynchronous messages (notices, parameter status,
 * notifications) and CopyOutResponse are passed to `pg` one by one, and from the first other
 * message on (CopyDone, CommandComplete, ErrorResponse, ReadyForQuery) everything goes back to
 * `pg`, which ends the query as usual. When the socket has other data listeners than `pg`'s one
 * (never seen), `pg` delivers the data as before.
 *
 * The pause belongs to the COPY, not to the connection: pausing the socket does not stop the
 * parsing of the buffer already read, so a COPY whose last rows and end sit in that buffer
 * finishes while paused. Its connection is resumed when the COPY settles; otherwise the next
 * statement on it (the reader's next chunk, or its COMMIT) would wait forever for a reply nobody
 * reads. That hang held the initial load's hand-off to the change stream whenever the readers
 * filled the queue at the end of the load (test/sources/postgres/snapshot/first-pass.test.ts).
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

type DataListener = (chunk: Buffer) => void;

interface PgStream {
  pause(): void;
  resume(): void;
  listeners(event: 'data'): DataListener[];
  on(event: 'data', fn: DataListener): void;
  removeListener(event: 'data', fn: DataListener): void;
}

interface PgConnection {
  query(text: string): void;
  readonly stream: PgStream;
}

const COPY_DATA = 0x64; // 'd'
/** Messages the server may send at any time, and CopyOutResponse: `pg` handles them, the COPY goes on. */
const PASS_THROUGH = new Set([0x4e /* N notice */, 0x53 /* S parameter status */, 0x41 /* A notification */, 0x48 /* H CopyOutResponse */]);

/**
 * Starts `sql` (a `COPY ... TO STDOUT` statement) on `client`; `onData(b, start, end)` gets the
 * payload of every CopyData message as `b[start..end)` (valid only during the call).
 */
export function copyOut(client: pg.Client, sql: string, onData: (b: Buffer, start: number, end: number) => void): CopyOut {
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
  /** `pg`'s socket listener while this COPY reads the socket itself. */
  let pgListener: DataListener | undefined;
  /** The pieces of a message that straddles socket chunks (copies), and their length. */
  let parts: Buffer[] = [];
  let partsLength = 0;

  const data = (b: Buffer, start: number, end: number): void => {
    if (failure !== undefined) return;
    try {
      onData(b, start, end);
    } catch (err) {
      // Keep draining the server's output (the protocol has no way to cancel a COPY TO mid-way
      // on this connection); report the first error when the server is done.
      failure = err;
      if (paused) {
        paused = false;
        connection?.stream.resume();
      }
    }
  };

  /** Gives the socket back to `pg`, starting with `rest`. */
  const handBack = (rest: Buffer | undefined): void => {
    const listener = pgListener;
    const stream = connection?.stream;
    if (listener === undefined || stream === undefined) return;
    pgListener = undefined;
    parts = [];
    partsLength = 0;
    stream.removeListener('data', onSocketData);
    stream.on('data', listener);
    if (rest !== undefined && rest.length > 0) listener(rest);
  };

  /** Handles the complete messages in `b[off..)`; returns where an incomplete one starts, or -1 once handed back. */
  const messages = (b: Buffer, off: number): number => {
    const n = b.length;
    while (off + 5 <= n) {
      const code = b[off] as number;
      const end = off + 1 + (((b[off + 1] as number) << 24) | ((b[off + 2] as number) << 16) | ((b[off + 3] as number) << 8) | (b[off + 4] as number));
      if (end > n) break;
      if (code === COPY_DATA) data(b, off + 5, end);
      else if (PASS_THROUGH.has(code)) (pgListener as DataListener)(b.subarray(off, end));
      else {
        handBack(b.subarray(off));
        return -1;
      }
      off = end;
    }
    return off;
  };

  function onSocketData(chunk: Buffer): void {
    let off = 0;
    if (partsLength > 0) {
      // Complete the message that straddles the chunks (copying only it), then go on in `chunk`.
      const first = parts[0] as Buffer;
      if (first.length < 5) {
        const head = Buffer.concat([...parts, chunk.subarray(0, 5)]).subarray(0, Math.min(5, partsLength + chunk.length));
        off = head.length - partsLength;
        parts = [head];
        partsLength = head.length;
        if (partsLength < 5) return;
      }
      const total = 1 + (parts[0] as Buffer).readUInt32BE(1);
      const need = total - partsLength;
      if (chunk.length - off < need) {
        parts.push(Buffer.from(chunk.subarray(off)));
        partsLength += chunk.length - off;
        return;
      }
      parts.push(chunk.subarray(off, off + need));
      const msg = Buffer.concat(parts, total);
      parts = [];
      partsLength = 0;
      off += need;
      const listener = pgListener;
      if (messages(msg, 0) < 0) {
        // Handed back at this message: the rest of the chunk is `pg`'s too.
        if (off < chunk.length) listener?.(chunk.subarray(off));
        return;
      }
    }
    const at = messages(chunk, off);
    if (at >= 0 && at < chunk.length) {
      parts = [Buffer.from(chunk.subarray(at))];
      partsLength = chunk.length - at;
    }
  }

  const settle = (err?: unknown): void => {
    if (settled) return;
    settled = true;
    handBack(undefined);
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
      const listeners = con.stream.listeners('data');
      if (listeners.length === 1) {
        pgListener = listeners[0] as DataListener;
        con.stream.removeListener('data', pgListener);
        con.stream.on('data', onSocketData);
      }
      // Paused before pg sent the statement (the client was busy): pause now.
      if (paused) con.stream.pause();
      con.query(sql);
    },
    handleCopyData(msg: { chunk: Buffer }): void {
      data(msg.chunk, 0, msg.chunk.length);
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
