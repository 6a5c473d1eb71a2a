/**
 * A logical replication connection: `pg`'s client in `replication: 'database'` mode for the
 * connection and replication commands, then, from `START_REPLICATION` on, Hydrant's own reader
 * of the CopyBoth stream straight off the socket. (`pg`'s parser made an object, an event and a
 * buffer slice per message, and each message was copied once more: together most of the
 * source's per-row cost on small rows.) XLogData payloads stay in the receive buffers they
 * arrived in (Node allocates a fresh one per socket read, so they are never overwritten) and
 * are read in place through a cursor ({@link ReplicationConnection.poll}). The queue is bounded
 * (the socket is paused when it is full), keepalive reply requests are answered at once, and
 * the flush LSN reported is exactly the one it was told to confirm, never what it merely
 * received.
 */
import pg from 'pg';
import { ConnectionError, HydrantError } from '../../core/errors.ts';
import { formatLsn } from './lsn.ts';

/** Connection settings (the subset of `pg.ClientConfig` Hydrant uses). */
export interface ReplicationConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password?: string | undefined;
  readonly applicationName?: string;
}

/** Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
export const PG_EPOCH_MICROS = 946_684_800_000_000n;

/** Server settings that make text-format values unambiguous for the type parsers. */
export const SESSION_OPTIONS = '-c DateStyle=ISO -c IntervalStyle=iso_8601 -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex';

/** Queue limit in bytes before the socket is paused. Small on purpose: queued messages that survive
 * young-generation GCs cost far more than pausing the socket (measured: 32 MiB halved decode speed). */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * Least time between two status messages sent because of {@link ReplicationConnection.confirm}:
 * a status per acknowledged batch cost a socket write each when batches were small; a later
 * confirm inside the window is sent when the window ends (or at close).
 */
const STATUS_MIN_INTERVAL_MS = 10;

type Waiter = { resolve: (got: boolean) => void; reject: (e: unknown) => void };

/** The XLogData payloads of one receive buffer: `ranges` holds start, end pairs. */
interface Received {
  readonly buf: Buffer;
  readonly ranges: number[];
  next: number;
}

/** One logical replication connection (see the module comment). */
export class ReplicationConnection {
  readonly #client: pg.Client;
  readonly #queue: Received[] = [];
  #head = 0;
  #queuedCount = 0;
  #holding = false;
  #queuedBytes = 0;
  #paused = false;
  #waiter: Waiter | undefined;
  #error: unknown;
  #streaming = false;
  #received = 0n;
  /** Where the newest XLogData's WAL end sits (read only when {@link received} is asked for). */
  #lastHeaderBuf: Buffer | undefined;
  #lastHeaderAt = 0;
  #confirmed = 0n;
  #statusTimer: NodeJS.Timeout | undefined;
  #lastStatusAt = 0;
  /** A confirm waiting for the end of the {@link STATUS_MIN_INTERVAL_MS} window. */
  #statusDue: NodeJS.Timeout | undefined;
  /** Bytes of an incomplete protocol message, and how many the message needs (0: not known yet). */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #partialNeed = 0;
  /** The current pgoutput message (after {@link poll} or {@link next} said so): `buf[from..to)`. */
  buf: Buffer = Buffer.alloc(0);
  from = 0;
  to = 0;
  /** Called with the server's WAL position on every keepalive (after the reply is sent). */
  onKeepalive: ((walEnd: bigint) => void) | undefined;

  private constructor(client: pg.Client) {
    this.#client = client;
    client.on('error', (err) => this.#fail(err));
    client.on('end', () => this.#fail(new ConnectionError('the replication connection to PostgreSQL closed: the source will reconnect from the last durable position')));
  }

  /** Opens a replication connection (`replication=database`). */
  static async connect(o: ReplicationConnectOptions): Promise<ReplicationConnection> {
    const client = new pg.Client({
      host: o.host,
      port: o.port,
      database: o.database,
      user: o.user,
      password: o.password,
      application_name: o.applicationName ?? 'hydrant',
      replication: 'database',
      options: SESSION_OPTIONS,
    } as pg.ClientConfig);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw new ConnectionError(`cannot open a replication connection to PostgreSQL at ${o.host}:${o.port}/${o.database} as ${o.user}: ${(err as Error).message}. Check the address, that pg_hba.conf allows "replication" connections for this user, and that the user has the REPLICATION attribute`, { cause: err });
    }
    return new ReplicationConnection(client);
  }

  /** Runs a replication command (`IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT`, ...); not once streaming. */
  async command(sql: string): Promise<Record<string, unknown>[]> {
    if (this.#streaming) throw new HydrantError('PROTOCOL', 'a replication command cannot run on a connection that is streaming');
    const r = await this.#client.query(sql);
    return r.rows as Record<string, unknown>[];
  }

  /**
   * Starts streaming from the slot. `startLsn` 0 lets the server start at the slot's confirmed
   * flush LSN. `options` are pgoutput options, already quoted. From here on this class reads
   * the socket: `pg`'s parser is detached, holding nothing (every earlier command ran to
   * ReadyForQuery, and the server sends nothing unasked after that but notices).
   */
  start(slot: string, startLsn: bigint, options: string, statusIntervalMs: number): void {
    const sql = `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(startLsn)} (${options})`;
    const conn = this.#connection();
    conn.stream.removeAllListeners('data');
    conn.stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#streaming = true;
    conn.query(sql);
    this.#statusTimer = setInterval(() => this.#sendStatus(false), statusIntervalMs);
    this.#statusTimer.unref();
  }

  /** Highest WAL end the server reported. */
  get received(): bigint {
    const b = this.#lastHeaderBuf;
    if (b !== undefined) {
      this.#lastHeaderBuf = undefined;
      const walEnd = b.readBigUInt64BE(this.#lastHeaderAt);
      if (walEnd > this.#received) this.#received = walEnd;
    }
    return this.#received;
  }

  /** Messages queued and not yet taken. */
  get queuedCount(): number {
    return this.#queuedCount;
  }

  /** The flush LSN reported to the server. */
  get confirmed(): bigint {
    return this.#confirmed;
  }

  /**
   * Makes the next message current (`buf`, `from`, `to`), waiting when none is queued.
   * Resolves false when interrupted; rejects once the connection failed and nothing is queued.
   */
  next(): Promise<boolean> {
    if (this.poll()) return Promise.resolve(true);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /**
   * True from the moment a message is made current until the caller asks for the next one
   * (`poll`/`next`): the caller may not have applied it yet. A message handed to a waiting
   * `next()` becomes current inside the socket read, before the caller runs, and a keepalive
   * later in the same read must not count the stream as idle (confirming its WAL end then
   * would confirm the transaction that message begins before it is durable).
   */
  get holding(): boolean {
    return this.#holding;
  }

  /** Makes the next queued message current without waiting; false when none is queued. */
  poll(): boolean {
    this.#holding = false;
    const q = this.#queue;
    while (this.#head < q.length) {
      const r = q[this.#head] as Received;
      if (r.next < r.ranges.length) {
        this.buf = r.buf;
        this.from = r.ranges[r.next] as number;
        this.to = r.ranges[r.next + 1] as number;
        r.next += 2;
        this.#holding = true;
        this.#queuedCount--;
        this.#queuedBytes -= this.to - this.from;
        if (this.#paused && this.#queuedBytes < MAX_QUEUED_BYTES / 2) {
          this.#paused = false;
          this.#connection().stream.resume();
        }
        return true;
      }
      q[this.#head++] = undefined as unknown as Received;
      if (this.#head === q.length) {
        q.length = 0;
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > q.length) {
        q.splice(0, this.#head);
        this.#head = 0;
      }
    }
    return false;
  }

  /** The current message as a buffer of its own (a view: receive buffers are never reused). */
  current(): Buffer {
    return this.buf.subarray(this.from, this.to);
  }

  /** Wakes a pending {@link next} with false (e.g. the caller's deadline passed). */
  interrupt(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve(false);
  }

  /** Confirms `lsn` as flushed (monotonic) and tells the server at once. */
  confirm(lsn: bigint): void {
    if (lsn <= this.#confirmed) return;
    this.#confirmed = lsn;
    if (this.#statusDue !== undefined) return;
    const wait = this.#lastStatusAt + STATUS_MIN_INTERVAL_MS - Date.now();
    if (wait <= 0) this.#sendStatus(false);
    else {
      this.#statusDue = setTimeout(() => this.#sendStatus(false), wait);
      this.#statusDue.unref();
    }
  }

  /** Ends the connection. Nothing is confirmed beyond what {@link confirm} was given. */
  async close(): Promise<void> {
    if (this.#statusDue !== undefined) this.#sendStatus(false);
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer);
    this.#error ??= new ConnectionError('the replication connection was closed');
    this.interrupt();
    await this.#client.end().catch(() => {});
  }

  /** Splits socket data into protocol messages (type byte, u32 length that counts itself, body). */
  #onData(chunk: Buffer): void {
    let o = 0;
    if (this.#partialBytes > 0) {
      // A message spans reads: collect until it is complete, then join just its bytes (the rest
      // of this read is parsed in place).
      const before = this.#partialBytes;
      const parts = this.#partial;
      parts.push(chunk);
      this.#partialBytes += chunk.length;
      if (this.#partialNeed === 0) {
        if (this.#partialBytes < 5) return;
        this.#partialNeed = 1 + byteAt(parts, 1) * 0x1000000 + byteAt(parts, 2) * 0x10000 + byteAt(parts, 3) * 0x100 + byteAt(parts, 4);
      }
      if (this.#partialBytes < this.#partialNeed) return;
      o = this.#partialNeed - before;
      parts[parts.length - 1] = chunk.subarray(0, o);
      const message = Buffer.concat(parts, this.#partialNeed);
      this.#partial = [];
      this.#partialBytes = 0;
      this.#partialNeed = 0;
      this.#parse(message, 0);
    }
    this.#parse(chunk, o);
  }

  /** Handles the complete messages of `b` from `o` on; keeps an incomplete tail for the next read. */
  #parse(b: Buffer, o: number): void {
    const n = b.length;
    let ranges: number[] | undefined;
    let bytes = 0;
    while (n - o >= 5) {
      const type = b[o] as number;
      const end = o + 1 + ((b[o + 1] as number) * 0x1000000 + (((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 8) | (b[o + 4] as number)));
      if (end > n) break;
      if (type === 0x64 /* d: CopyData */ && b[o + 5] === 0x77 /* w: XLogData */) {
        // 'w', WAL start (8), WAL end (8), send time (8), then the pgoutput message.
        this.#lastHeaderBuf = b;
        this.#lastHeaderAt = o + 14;
        (ranges ??= []).push(o + 30, end);
        bytes += end - o - 30;
      } else {
        if (ranges !== undefined) {
          // What arrived before a keepalive is queued before the keepalive is handled.
          this.#enqueue(b, ranges, bytes);
          ranges = undefined;
          bytes = 0;
        }
        this.#control(type, b, o + 5, end);
      }
      o = end;
    }
    if (ranges !== undefined) this.#enqueue(b, ranges, bytes);
    if (o < n) {
      const rest = b.subarray(o);
      this.#partial = [rest];
      this.#partialBytes = rest.length;
      this.#partialNeed = rest.length >= 5 ? 1 + rest.readUInt32BE(1) : 0;
    }
  }

  #enqueue(buf: Buffer, ranges: number[], bytes: number): void {
    this.#queue.push({ buf, ranges, next: 0 });
    this.#queuedCount += ranges.length / 2;
    this.#queuedBytes += bytes;
    if (!this.#paused && this.#queuedBytes > MAX_QUEUED_BYTES) {
      this.#paused = true;
      this.#connection().stream.pause();
    }
    const w = this.#waiter;
    if (w !== undefined && this.poll()) {
      this.#waiter = undefined;
      w.resolve(true);
    }
  }

  /** Every protocol message but XLogData; `b[s..e)` is its body. */
  #control(type: number, b: Buffer, s: number, e: number): void {
    if (type === 0x64 /* d */) {
      if (b[s] === 0x6b /* k: keepalive: WAL end, send time, reply requested */) {
        const walEnd = b.readBigUInt64BE(s + 1);
        if (walEnd > this.received) this.#received = walEnd;
        if (b[s + 17] === 1) this.#sendStatus(false);
        this.onKeepalive?.(walEnd);
      }
    } else if (type === 0x45 /* E: ErrorResponse */) {
      this.#fail(serverError(b, s, e));
    } else if (type === 0x63 /* c: CopyDone */) {
      this.#fail(new ConnectionError('PostgreSQL ended the replication stream (CopyDone): the source will reconnect'));
    }
    // W (CopyBothResponse), N (notice), S (parameter status), C, Z need nothing.
  }

  #sendStatus(replyRequested: boolean): void {
    if (this.#statusDue !== undefined) {
      clearTimeout(this.#statusDue);
      this.#statusDue = undefined;
    }
    if (!this.#streaming || this.#error !== undefined) return;
    const now = Date.now();
    this.#lastStatusAt = now;
    const b = Buffer.allocUnsafe(34);
    b[0] = 0x72; // r
    // write = flush = apply = confirmed: the server must never believe more is safe.
    b.writeBigUInt64BE(this.#confirmed, 1);
    b.writeBigUInt64BE(this.#confirmed, 9);
    b.writeBigUInt64BE(this.#confirmed, 17);
    b.writeBigInt64BE(BigInt(now) * 1000n - PG_EPOCH_MICROS, 25);
    b[33] = replyRequested ? 1 : 0;
    try {
      this.#connection().sendCopyFromChunk(b);
    } catch (err) {
      this.#fail(err);
    }
  }

  #connection(): PgConnection {
    return (this.#client as unknown as { connection: PgConnection }).connection;
  }

  #fail(err: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = err instanceof HydrantError ? err : new ConnectionError(`the PostgreSQL replication stream failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer);
    if (this.#statusDue !== undefined) clearTimeout(this.#statusDue);
    this.#statusDue = undefined;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(this.#error);
  }
}

/** Byte `i` of the concatenation of `parts`. */
function byteAt(parts: readonly Buffer[], i: number): number {
  for (const p of parts) {
    if (i < p.length) return p[i] as number;
    i -= p.length;
  }
  return 0;
}

/** The subset of `pg`'s Connection used once streaming. */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(b: Buffer): void;
  readonly stream: { pause(): void; resume(): void; removeAllListeners(event: 'data'): void; on(event: 'data', fn: (chunk: Buffer) => void): void };
}

/** An ErrorResponse body (fields of a code byte and a C string, then a zero byte) as an Error like `pg`'s. */
function serverError(b: Buffer, s: number, e: number): Error & { code?: string } {
  const fields = new Map<number, string>();
  let o = s;
  while (o < e && b[o] !== 0) {
    const z = b.indexOf(0, o + 1);
    if (z < 0 || z >= e) break;
    fields.set(b[o] as number, b.toString('utf8', o + 1, z));
    o = z + 1;
  }
  const err: Error & { code?: string } = new Error(fields.get(0x4d /* M */) ?? 'the server sent an error without a message');
  const code = fields.get(0x43 /* C */);
  if (code !== undefined) err.code = code;
  return err;
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Quotes an SQL string literal. */
export function quoteLiteral(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}
