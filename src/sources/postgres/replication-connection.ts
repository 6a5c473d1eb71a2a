/**
 * A logical replication connection: `pg`'s client in `replication: 'database'` mode, driven in
 * CopyBoth after `START_REPLICATION`. It queues the server's XLogData payloads (pausing the
 * socket when the queue is full, so memory stays bounded), answers keepalive reply requests at
 * once, and reports exactly the flush LSN it was told to confirm: never what it merely
 * received.
 */
import pg from 'pg';
import { ConnectionError, HydrantError } from '../../core/errors.ts';
import { formatLsn } from './lsn.ts';

/** One XLogData message: a pgoutput message and where it sits in the WAL. */
export interface WalMessage {
  readonly walStart: bigint;
  readonly walEnd: bigint;
  /** The pgoutput message (its own copy; safe to keep). */
  readonly data: Buffer;
}

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

type Waiter = { resolve: (m: WalMessage | undefined) => void; reject: (e: unknown) => void };

/** One logical replication connection (see the module comment). */
export class ReplicationConnection {
  readonly #client: pg.Client;
  readonly #queue: WalMessage[] = [];
  #head = 0;
  #queuedBytes = 0;
  #paused = false;
  #waiter: Waiter | undefined;
  #error: unknown;
  #streaming = false;
  #received = 0n;
  #confirmed = 0n;
  #statusTimer: NodeJS.Timeout | undefined;
  #replication: Promise<unknown> | undefined;
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

  /** Runs a replication command (`IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT`, ...). */
  async command(sql: string): Promise<Record<string, unknown>[]> {
    const r = await this.#client.query(sql);
    return r.rows as Record<string, unknown>[];
  }

  /**
   * Starts streaming from the slot. `startLsn` 0 lets the server start at the slot's confirmed
   * flush LSN. `options` are pgoutput options, already quoted.
   */
  start(slot: string, startLsn: bigint, options: string, statusIntervalMs: number): void {
    const sql = `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(startLsn)} (${options})`;
    const conn = (this.#client as unknown as { connection: PgConnection }).connection;
    conn.on('copyData', (msg: { chunk: Buffer }) => this.#onCopyData(msg.chunk));
    this.#streaming = true;
    this.#replication = this.#client.query(sql).then(
      () => this.#fail(new ConnectionError('PostgreSQL ended the replication stream (CopyDone): the source will reconnect')),
      (err: unknown) => this.#fail(err),
    );
    this.#statusTimer = setInterval(() => this.#sendStatus(false), statusIntervalMs);
    this.#statusTimer.unref();
  }

  /** Highest WAL end the server reported. */
  get received(): bigint {
    return this.#received;
  }

  /** Messages queued and not yet taken. */
  get queuedCount(): number {
    return this.#queue.length - this.#head;
  }

  /** The flush LSN reported to the server. */
  get confirmed(): bigint {
    return this.#confirmed;
  }

  /** Next message; waits when none is queued. Rejects once the connection failed. */
  next(): Promise<WalMessage | undefined> {
    const m = this.#shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Next message if one is queued, without waiting. */
  poll(): WalMessage | undefined {
    return this.#shift();
  }

  /** Wakes a pending {@link next} with `undefined` (e.g. the caller's deadline passed). */
  interrupt(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve(undefined);
  }

  /** Confirms `lsn` as flushed (monotonic) and tells the server at once. */
  confirm(lsn: bigint): void {
    if (lsn <= this.#confirmed) return;
    this.#confirmed = lsn;
    this.#sendStatus(false);
  }

  /** Ends the connection. Nothing is confirmed beyond what {@link confirm} was given. */
  async close(): Promise<void> {
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer);
    this.#error ??= new ConnectionError('the replication connection was closed');
    this.interrupt();
    await this.#client.end().catch(() => {});
    await this.#replication?.catch(() => {});
  }

  #shift(): WalMessage | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const m = this.#queue[this.#head] as WalMessage;
    this.#queue[this.#head++] = undefined as unknown as WalMessage;
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    this.#queuedBytes -= m.data.length;
    if (this.#paused && this.#queuedBytes < MAX_QUEUED_BYTES / 2) {
      this.#paused = false;
      this.#socket().resume();
    }
    return m;
  }

  #onCopyData(chunk: Buffer): void {
    const kind = chunk[0];
    if (kind === 0x77 /* w */) {
      const walStart = chunk.readBigUInt64BE(1);
      const walEnd = chunk.readBigUInt64BE(9);
      if (walEnd > this.#received) this.#received = walEnd;
      // pg's parser reuses its read buffer, so keep a copy.
      const data = Buffer.allocUnsafe(chunk.length - 25);
      chunk.copy(data, 0, 25);
      const m: WalMessage = { walStart, walEnd, data };
      const w = this.#waiter;
      if (w !== undefined && this.#head >= this.#queue.length) {
        this.#waiter = undefined;
        w.resolve(m);
        return;
      }
      this.#queue.push(m);
      this.#queuedBytes += data.length;
      if (!this.#paused && this.#queuedBytes > MAX_QUEUED_BYTES) {
        this.#paused = true;
        this.#socket().pause();
      }
      if (w !== undefined) {
        this.#waiter = undefined;
        w.resolve(this.#shift());
      }
    } else if (kind === 0x6b /* k */) {
      const walEnd = chunk.readBigUInt64BE(1);
      if (walEnd > this.#received) this.#received = walEnd;
      if (chunk[17] === 1) this.#sendStatus(false);
      this.onKeepalive?.(walEnd);
    }
  }

  #sendStatus(replyRequested: boolean): void {
    if (!this.#streaming || this.#error !== undefined) return;
    const b = Buffer.allocUnsafe(34);
    b[0] = 0x72; // r
    // write = flush = apply = confirmed: the server must never believe more is safe.
    b.writeBigUInt64BE(this.#confirmed, 1);
    b.writeBigUInt64BE(this.#confirmed, 9);
    b.writeBigUInt64BE(this.#confirmed, 17);
    b.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_MICROS, 25);
    b[33] = replyRequested ? 1 : 0;
    try {
      (this.#client as unknown as { connection: PgConnection }).connection.sendCopyFromChunk(b);
    } catch (err) {
      this.#fail(err);
    }
  }

  #socket(): { pause(): void; resume(): void } {
    return (this.#client as unknown as { connection: PgConnection }).connection.stream;
  }

  #fail(err: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = err instanceof HydrantError ? err : new ConnectionError(`the PostgreSQL replication stream failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer);
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(this.#error);
  }
}

interface PgConnection {
  on(event: 'copyData', fn: (msg: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(b: Buffer): void;
  readonly stream: { pause(): void; resume(): void };
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Quotes an SQL string literal. */
export function quoteLiteral(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}
