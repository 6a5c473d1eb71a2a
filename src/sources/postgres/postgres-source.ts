/**
 * The `postgres` source: log-based change capture through a logical replication slot and the
 * `pgoutput` plugin, with Hydrant's own replication client.
 *
 * Acknowledgement: the slot's confirmed flush LSN is only ever the commit end LSN of a
 * transaction whose events the runner made durable (see {@link PostgresSource.ack}), or, while
 * nothing is pending at all, the server's own keepalive/heartbeat position, so an idle slot
 * still advances. Everything else the server sends again after a restart, and the source skips
 * events at or below the position it was started from.
 */
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { envelopeToJson, partitionKeyOf, type ChangeEvent } from '../../core/change-event.ts';
import { EncodedEventsBuilder, type EncodedEvents } from '../../core/encoded-events.ts';
import type { ComponentContext, ComponentDescriptor } from '../../core/component.ts';
import { crashPoint } from '../../core/crash.ts';
import { ConnectionError, HydrantError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { TableSchema } from '../../core/schema.ts';
import { Timestamp } from '../../core/values.ts';
import type { Source, SourceBatch } from '../source.ts';
import { ChangeBuilder, txContext, type TxContext } from './change-builder.ts';
import { Latin1Text } from './column-readers.ts';
import { postgresConfig, resolveNames, TableSelection, type PostgresConfig } from './config.ts';
import { formatPosition, parseLsn, parsePosition, positionPrefix } from './lsn.ts';
import { PgoutputDecoder, type PgoutputMessage } from './pgoutput-decoder.ts';
import { observeSlot, prepareServer, type SlotTarget } from './slot-monitor.ts';
import type { SqlClient } from './catalog.ts';
import { Relations, type RelationState } from './relations.ts';
import { PG_EPOCH_MICROS, quoteLiteral, ReplicationConnection, SESSION_OPTIONS } from './replication-connection.ts';
import { ToastFetcher } from './toast-fetch.ts';
import { resetSpillDir, SpillReader, SpillWriter } from './spill.ts';
import { slotInfo } from './catalog.ts';
import { exportSnapshot, prepareInitialSlot } from './snapshot/exported-snapshot.ts';
import { SnapshotEngine, type ExportedSnapshot } from './snapshot/snapshot-engine.ts';
import { PG_TYPE_SQL, TypeResolver, type PgTypeRow } from './type-map.ts';

/** Prefix of Hydrant's heartbeat messages (pg_logical_emit_message). */
export const HEARTBEAT_PREFIX = 'hydrant.heartbeat';

interface Replay {
  readonly reader: SpillReader;
  readonly aborted: ReadonlySet<number>;
  readonly tx: TxContext;
  readonly endLsn: bigint;
  readonly decoder: PgoutputDecoder;
}

type Change = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>;

/** The `postgres` source (see the module comment and docs/sources/postgres.md). */
/** Longest stretch `next` decodes without giving the event loop a turn. */
const YIELD_MS = 4;

export class PostgresSource implements Source {
  readonly #cfg: PostgresConfig;
  readonly #ctx: ComponentContext;
  readonly #log: Logger;
  readonly #selection: TableSelection;
  readonly #slot: string;
  readonly #publication: string;
  readonly #password: string | undefined;
  readonly #spillDir: string;
  readonly #builder: ChangeBuilder;
  #sql: pg.Client | undefined;
  #conn: ReplicationConnection | undefined;
  #decoder = new PgoutputDecoder();
  /** Latin1 text of the receive buffer being decoded (see column-readers.ts). */
  readonly #text = new Latin1Text();
  #relations: Relations | undefined;
  #toast: ToastFetcher | undefined;
  #allTables = false;
  /** Events at or below this position are already durable (or handed out): skip them. */
  #resume: string | undefined;
  /** The position handed out with the last batch (and the start position before that). */
  #emitted = formatPosition(0n, 0);
  /** The start position: durable by contract. */
  #durableStart = '';
  #tx: TxContext | undefined;
  readonly #streams = new Map<number, SpillWriter>();
  #streamXid: number | undefined;
  #replay: Replay | undefined;
  /** Completed transactions not yet acknowledged, in order. */
  #completed: Array<{ pos: string; endLsn: bigint }> = [];
  #confirmed = 0n;
  #schemas: TableSchema[] = [];
  #fatal: Error | undefined;
  #timers: NodeJS.Timeout[] = [];
  #heartbeatWarned = false;
  /** WAL flush position the stream must reach before it reports caught up. */
  #caughtUpLsn: bigint | undefined;
  /** Highest commit end LSN processed. */
  #seenEnd = 0n;

  constructor(cfg: PostgresConfig, ctx: ComponentContext) {
    this.#cfg = cfg;
    this.#ctx = ctx;
    this.#log = ctx.logger.child({ source: ctx.name });
    this.#selection = new TableSelection(cfg);
    const names = resolveNames(cfg, ctx.name);
    this.#slot = names.slot;
    this.#publication = names.publication;
    this.#password = names.password;
    this.#spillDir = join(ctx.dataDir, 'postgres', ctx.name.replace(/[^A-Za-z0-9_.-]/g, '_'), 'spill');
    this.#builder = new ChangeBuilder(ctx.name, cfg.database);
  }

  /**
   * The catalog connection (types, keys, heartbeats, slot checks), reopened on first use after
   * it broke, so a lost catalog connection never wedges the source.
   */
  readonly #catalog: SqlClient = {
    query: async (text, params) => {
      if (this.#closed) throw new ConnectionError(`PostgreSQL source ${this.#ctx.name} is closed`);
      if (this.#sql === undefined) await (this.#opening ??= this.#openCatalog().finally(() => (this.#opening = undefined)));
      return (this.#sql as pg.Client).query(text, params);
    },
  };
  #opening: Promise<void> | undefined;
  #closed = false;
  /** Initial load, resumed loads and re-snapshots (see snapshot/snapshot-engine.ts). */
  #snapshot: SnapshotEngine | undefined;

  async #openCatalog(): Promise<void> {
    const c = this.#cfg;
    const sql = new pg.Client({ host: c.host, port: c.port, database: c.database, user: c.user, password: this.#password, application_name: `hydrant ${this.#ctx.name}`, options: SESSION_OPTIONS });
    const broken = (err?: unknown): void => {
      if (this.#sql === sql) this.#sql = undefined;
      if (err !== undefined) this.#log.warn('catalog connection lost; it reopens on next use', { err });
      void sql.end().catch(() => {});
    };
    sql.on('error', broken);
    sql.on('end', () => broken());
    try {
      await sql.connect();
    } catch (err) {
      throw new ConnectionError(`cannot connect to PostgreSQL at ${c.host}:${c.port}/${c.database} as ${c.user}: ${(err as Error).message}`, { cause: err });
    }
    if (this.#closed) {
      await sql.end().catch(() => {});
      throw new ConnectionError(`PostgreSQL source ${this.#ctx.name} is closed`);
    }
    this.#sql = sql;
  }

  /** Slot and publication names in use. */
  get names(): { slot: string; publication: string } {
    return { slot: this.#slot, publication: this.#publication };
  }

  async start(position: string | null): Promise<void> {
    if (position !== null) parsePosition(position);
    const c = this.#cfg;
    const sql = this.#catalog;
    const connectOptions = { host: c.host, port: c.port, database: c.database, user: c.user, password: this.#password, applicationName: `hydrant ${this.#ctx.name}` };
    let exported: ExportedSnapshot | undefined;
    if (c.snapshot === 'only') exported = await exportSnapshot(connectOptions);
    else {
      if (c.snapshot === 'initial' && position === null && (await slotInfo(sql, this.#slot)) === undefined) {
        // The slot's exported snapshot lets the initial load meet the change stream exactly.
        try {
          exported = await prepareInitialSlot(sql, c, this.#slotTarget(), connectOptions);
        } catch (err) {
          await prepareServer(sql, c, this.#slotTarget(), position, this.#log); // says what the server lacks
          throw err;
        }
        this.#log.info('created replication slot with an exported snapshot for the initial load', { slot: this.#slot });
      }
      try {
        ({ allTables: this.#allTables } = await prepareServer(sql, c, this.#slotTarget(), position, this.#log));
      } catch (err) {
        await exported?.release();
        throw err;
      }
    }

    const resolver = new TypeResolver(async (oid) => (await sql.query(PG_TYPE_SQL, [oid])).rows[0] as unknown as PgTypeRow | undefined, this.#log);
    this.#relations = new Relations({ source: this.#ctx.name, database: c.database, selection: this.#selection, resolver, state: this.#ctx.state, sql, logger: this.#log });
    if (c.toast === 'fetch') this.#toast = new ToastFetcher(sql, this.#relations, this.#log);
    if (position !== null) {
      this.#resume = position;
      this.#emitted = position;
      this.#durableStart = position;
    }
    resetSpillDir(this.#spillDir);
    const snap = new SnapshotEngine({ source: this.#ctx.name, database: c.database, settings: c, connect: connectOptions, sql, selection: this.#selection, resolver, state: this.#ctx.state, logger: this.#log, metrics: this.#ctx.metrics, idleWaitMs: c.idle_wait_ms, encoded: this.#ctx.encodedBatches === true }, this.#emitted);
    this.#snapshot = snap;
    await snap.start(exported);
    if (!snap.holdsStream) await this.#startStreaming(snap);
    if (c.heartbeat_interval_ms > 0) this.#every(c.heartbeat_interval_ms, () => this.#heartbeat());
    if (c.snapshot !== 'only') this.#every(c.slot_check_interval_ms, () => this.#checkSlot());
  }

  /** Starts the change stream once nothing holds it back (after the load inside the exported snapshot). */
  async #startStreaming(snap: SnapshotEngine): Promise<void> {
    this.#emitted = snap.position;
    await this.#connect();
    snap.streamStarted();
  }

  async next(signal: AbortSignal): Promise<SourceBatch> {
    if (this.#fatal !== undefined) throw this.#fatal;
    const snap = this.#snapshot;
    if (snap?.holdsStream === true) {
      const b = await snap.nextBatch(signal, this.#cfg.max_batch_events);
      if (!snap.holdsStream) await this.#startStreaming(snap);
      return { events: b.events, ...(b.encoded !== undefined ? { encoded: b.encoded } : {}), ...(b.schemas.length > 0 ? { schemas: b.schemas } : {}), position: b.position, caughtUp: b.caughtUp };
    }
    if (this.#conn === undefined) {
      try {
        await this.#reconnect();
      } catch (err) {
        // A slot invalidated while we were connected cannot be streamed from again: say so.
        await this.#checkSlot();
        if (this.#fatal !== undefined) throw this.#fatal;
        throw err;
      }
    }
    const conn = this.#conn as ReplicationConnection;
    const events: ChangeEvent[] = [];
    // Written straight as stream records when the runner takes them (no source-edge
    // transforms) and no TOAST fetch needs the objects; see encoded-events.ts.
    const enc = this.#ctx.encodedBatches === true && this.#toast === undefined ? this.#encoded : undefined;
    const max = this.#cfg.max_batch_events;
    let failed: unknown;
    let since = performance.now();
    let handled = 0;
    while (events.length + (enc?.count ?? 0) < max) {
      // Let the event loop run every few milliseconds while messages keep coming: the runner
      // appends the previous batch meanwhile, and each of its steps (writev done, fdatasync
      // done, position committed) needs a turn of the loop to start the next. Without turns a
      // 20,000-row batch decoded straight from the receive queue held them all back for
      // ~70 ms, so appends did not overlap decoding at all (measured: a 4 MB writev "took"
      // 42 ms on average, 2-3 ms of it in the kernel).
      if ((++handled & 63) === 0 && performance.now() - since > YIELD_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        since = performance.now();
      }
      if (this.#replay !== undefined) {
        this.#replayStep(events, max - (enc?.count ?? 0));
        continue;
      }
      if (!conn.poll()) {
        if (events.length + (enc?.count ?? 0) > 0) break;
        let got: boolean;
        try {
          got = await this.#wait(conn, signal);
          since = performance.now();
        } catch (err) {
          failed = err;
          break;
        }
        if (!got) break;
      }
      const pending = this.#handle(conn, events, enc);
      if (pending !== undefined) await pending;
    }
    if (failed !== undefined) {
      if (this.#fatal !== undefined) throw this.#fatal;
      this.#log.warn('replication connection lost; reconnecting from the last handed-out position', { err: failed });
      await this.#dropConnection();
    }
    if (this.#toast !== undefined && events.some((e) => e.unchanged !== undefined)) await this.#toast.fill(events);
    crashPoint('postgres.batch_ready');
    // Only an empty batch asks the server where its WAL ends: one query per idle poll, none while busy.
    const caughtUp = events.length === 0 && (enc?.count ?? 0) === 0 && (await this.#caughtUp(true)) && this.#snapshot?.busy !== true;
    const schemas = this.#schemas;
    this.#schemas = [];
    if (enc !== undefined) {
      flushObjects(events, enc);
      if (enc.count > 0) {
        const encoded = enc.take();
        // A caller that never acknowledges must not make the list grow: forget the oldest
        // (its buffer then goes to the GC instead of being reused).
        if (this.#handedOut.push({ position: this.#emitted, encoded }) > 8) this.#handedOut.shift();
        return { events, encoded, ...(schemas.length > 0 ? { schemas } : {}), position: this.#emitted, caughtUp };
      }
    }
    return { events, ...(schemas.length > 0 ? { schemas } : {}), position: this.#emitted, caughtUp };
  }

  async ack(position: string): Promise<void> {
    let lsn = 0n;
    let n = 0;
    const done = this.#completed;
    while (n < done.length && (done[n] as { pos: string }).pos <= position) lsn = (done[n++] as { endLsn: bigint }).endLsn;
    if (n > 0) this.#completed = done.slice(n);
    // The runner is done with every batch up to `position`: their buffers take new records.
    const out = this.#handedOut;
    let k = 0;
    while (k < out.length && (out[k] as { position: string }).position <= position) this.#encoded.recycle((out[k++] as { encoded: EncodedEvents }).encoded);
    if (k > 0) out.splice(0, k);
    if (lsn > this.#confirmed) {
      crashPoint('postgres.before_confirm');
      this.#confirmed = lsn;
      this.#conn?.confirm(lsn);
      crashPoint('postgres.after_confirm');
    }
    await this.#snapshot?.ack(position);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#snapshot?.close();
    this.#snapshot = undefined;
    await this.#dropConnection();
    await this.#opening?.catch(() => {});
    await this.#sql?.end().catch(() => {});
    this.#sql = undefined;
  }

  async #connect(): Promise<void> {
    const c = this.#cfg;
    const conn = await ReplicationConnection.connect({ host: c.host, port: c.port, database: c.database, user: c.user, password: this.#password, applicationName: `hydrant ${this.#ctx.name}` });
    const opts = [`proto_version '${c.protocol}'`, `publication_names ${quoteLiteral(`"${this.#publication.replace(/"/g, '""')}"`)}`, `messages 'true'`];
    if (c.protocol === 2) opts.push(`streaming 'on'`);
    conn.start(this.#slot, 0n, opts.join(', '), c.status_interval_ms);
    conn.onKeepalive = (walEnd) => {
      if (this.#idle()) conn.confirm(walEnd);
    };
    if (this.#confirmed > 0n) conn.confirm(this.#confirmed);
    this.#conn = conn;
    this.#decoder = new PgoutputDecoder();
  }

  async #reconnect(): Promise<void> {
    // Everything handed out will be made durable by the runner, so resume after it.
    this.#resume = this.#emitted;
    await this.#connect();
  }

  async #dropConnection(): Promise<void> {
    const conn = this.#conn;
    this.#conn = undefined;
    this.#tx = undefined;
    this.#streamXid = undefined;
    for (const w of this.#streams.values()) w.discard();
    this.#streams.clear();
    this.#relations?.abortStream();
    if (this.#replay !== undefined) {
      this.#replay.reader.close();
      this.#replay = undefined;
    }
    await conn?.close();
  }

  #wait(conn: ReplicationConnection, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    const t = setTimeout(() => conn.interrupt(), this.#cfg.idle_wait_ms);
    const onAbort = (): void => conn.interrupt();
    signal.addEventListener('abort', onAbort, { once: true });
    return conn.next().finally(() => {
      clearTimeout(t);
      signal.removeEventListener('abort', onAbort);
    });
  }

  /**
   * Handles one message. Begin, Commit, Inserts, Deletes and Updates without an old tuple
   * outside stream blocks (nearly all traffic) are read straight from the bytes, synchronously; the
   * rest is decoded and may wait (a Relation message looks types up). The message is the
   * connection's current one, read in place.
   */
  #handle(conn: ReplicationConnection, events: ChangeEvent[], enc: EncodedEventsBuilder | undefined): Promise<void> | undefined {
    const b = conn.buf;
    const s = conn.from;
    const tag = b[s];
    if (!this.#decoder.inStream) {
      if (tag === 0x49 /* I */ || tag === 0x55 /* U */ || tag === 0x44 /* D */) {
        const tx = this.#tx;
        // As a record when nothing needs the event object: no resume filter pending, no
        // snapshot window watching the changes (objects made earlier go first, in order).
        if (tx !== undefined && enc !== undefined && this.#resume === undefined && this.#snapshot?.watching !== true) {
          flushObjects(events, enc);
          if (this.#builder.buildRawJson(tag, (this.#relations as Relations).get(b.readUInt32BE(s + 1)), b, s + 5, tx, enc, this.#text)) {
            const last = enc.lastPosition;
            if (last !== undefined) this.#emitted = last;
            return undefined;
          }
        }
        if (tx !== undefined) {
          const start = events.length;
          if (this.#builder.buildRaw(tag, (this.#relations as Relations).get(b.readUInt32BE(s + 1)), b, s + 5, tx, events, this.#text)) {
            this.#afterBuild(events, start);
            return undefined;
          }
        }
      } else if (tag === 0x42 /* B */) {
        // Begin: final (commit) LSN, commit time, xid.
        const prefix = positionPrefix(b.readUInt32BE(s + 1), b.readUInt32BE(s + 5));
        this.#tx = txContext(prefix, b.readUInt32BE(s + 17), new Timestamp(commitMicros(b, s + 9), true));
        return undefined;
      } else if (tag === 0x43 /* C */) {
        // Commit: flags, commit LSN, end LSN, commit time.
        const tx = this.#tx;
        this.#tx = undefined;
        if (tx !== undefined) this.#finishTx(tx.prefix + END_OF_TX_HEX, u64(b, s + 10));
        return undefined;
      }
    }
    const raw = conn.current();
    return this.#handleDecoded(this.#decoder.decode(raw), raw, events);
  }

  async #handleDecoded(m: PgoutputMessage, raw: Buffer, events: ChangeEvent[]): Promise<void> {
    switch (m.tag) {
      case 'begin':
        this.#tx = newTx(m.finalLsn, m.xid, m.commitTime);
        return;
      case 'commit': {
        const tx = this.#tx;
        this.#tx = undefined;
        if (tx !== undefined) this.#finishTx(tx.prefix + END_OF_TX_HEX, m.endLsn);
        return;
      }
      case 'relation': {
        const { newSchema } = await (this.#relations as Relations).apply(m, this.#decoder.inStream ? this.#streamXid : undefined);
        if (newSchema !== undefined) this.#schemas.push(newSchema);
        return;
      }
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate':
        if (this.#decoder.inStream) this.#spill(m, raw);
        else if (this.#tx !== undefined) this.#emit(m, (id) => (this.#relations as Relations).get(id), this.#tx, events);
        return;
      case 'message':
        if (!m.transactional && m.prefix === HEARTBEAT_PREFIX && this.#idle()) this.#conn?.confirm(m.lsn);
        else if (this.#snapshot !== undefined && m.prefix.startsWith('hydrant.')) {
          // Watermarks may add a chunk's rows at their own position; resnapshot requests start one.
          const pos = await this.#snapshot.onMessage(m, events, this.#schemas);
          if (pos !== undefined) this.#emitted = pos;
        }
        return;
      case 'stream_start':
        this.#streamXid = m.xid;
        if (!this.#streams.has(m.xid)) this.#streams.set(m.xid, new SpillWriter(this.#spillDir, m.xid));
        return;
      case 'stream_stop':
        this.#streamXid = undefined;
        return;
      case 'stream_abort': {
        const sw = this.#streams.get(m.xid);
        if (sw === undefined) return;
        if (m.subxid === m.xid) {
          sw.discard();
          this.#streams.delete(m.xid);
          (this.#relations as Relations).abortStream(m.xid);
        } else sw.abortedSubxids.add(m.subxid);
        return;
      }
      case 'stream_commit': {
        const sw = this.#streams.get(m.xid);
        this.#streams.delete(m.xid);
        (this.#relations as Relations).commitStream(m.xid);
        const tx = newTx(m.commitLsn, m.xid, m.commitTime);
        if (sw === undefined) {
          this.#finishTx(tx.prefix + END_OF_TX_HEX, m.endLsn);
          return;
        }
        sw.finish();
        const labels = { source: this.#ctx.name };
        this.#ctx.metrics.inc('hydrant_postgres_spilled_changes_total', 'Changes of streamed in-progress transactions spilled to disk and replayed at commit.', labels, sw.records);
        this.#ctx.metrics.inc('hydrant_postgres_spilled_bytes_total', 'Bytes of streamed in-progress transactions spilled to disk.', labels, sw.bytes);
        crashPoint('postgres.stream_commit');
        this.#replay = { reader: new SpillReader(sw.path), aborted: sw.abortedSubxids, tx, endLsn: m.endLsn, decoder: new PgoutputDecoder(true) };
        return;
      }
      default:
        return;
    }
  }

  #spill(m: Change, raw: Buffer): void {
    const xid = this.#streamXid;
    const sw = xid === undefined ? undefined : this.#streams.get(xid);
    if (sw === undefined || xid === undefined) throw new HydrantError('PROTOCOL', 'pgoutput streamed change outside a stream block');
    const serial = m.tag === 'truncate' ? 0 : (this.#relations as Relations).get(m.relid, xid).serial;
    sw.append(serial, m.xid ?? xid, raw);
  }

  #replayStep(events: ChangeEvent[], max: number): void {
    const r = this.#replay as Replay;
    const rels = this.#relations as Relations;
    while (events.length < max) {
      const rec = r.reader.next();
      if (rec === undefined) {
        r.reader.close();
        this.#replay = undefined;
        this.#finishTx(r.tx.prefix + END_OF_TX_HEX, r.endLsn);
        return;
      }
      if (r.aborted.has(rec.subxid)) continue;
      const m = r.decoder.decode(rec.payload) as Change;
      this.#emit(m, (id) => (rec.relSerial === 0 ? rels.get(id) : rels.bySerial(rec.relSerial)), r.tx, events);
    }
  }

  #emit(m: Change, rel: (relid: number) => RelationState, tx: TxContext, events: ChangeEvent[]): void {
    const start = events.length;
    this.#builder.build(m, rel, tx, events);
    this.#afterBuild(events, start);
  }

  /** Drops events a resume already made durable, shows the rest to the snapshot engine. */
  #afterBuild(events: ChangeEvent[], start: number): void {
    const resume = this.#resume;
    if (resume !== undefined) {
      let keep = start;
      for (let i = start; i < events.length; i++) {
        const e = events[i] as ChangeEvent;
        if (e.source.position > resume) events[keep++] = e;
      }
      events.length = keep;
      if (keep > start) this.#resume = undefined;
    }
    this.#snapshot?.observe(events, start);
    if (events.length > start) this.#emitted = (events[events.length - 1] as ChangeEvent).source.position;
  }

  /** Builds the records of batches written as stream records (reused: `take` empties it). */
  readonly #encoded = new EncodedEventsBuilder();
  /** Encoded batches handed out and not yet acknowledged (their buffers are recycled on ack). */
  readonly #handedOut: Array<{ readonly position: string; readonly encoded: EncodedEvents }> = [];

  /** A transaction ended; `pos` is its end position (index {@link END_OF_TX}). */
  #finishTx(pos: string, endLsn: bigint): void {
    if (endLsn > this.#seenEnd) this.#seenEnd = endLsn;
    if (pos <= this.#durableStart) {
      // Durable before this process started (the slot had not confirmed it yet).
      if (endLsn > this.#confirmed) {
        this.#confirmed = endLsn;
        this.#conn?.confirm(endLsn);
      }
      return;
    }
    if (pos > this.#emitted) this.#emitted = pos;
    this.#completed.push({ pos, endLsn });
  }

  /**
   * Caught up means the stream has reached the server's WAL flush position as it was when we
   * last asked — not merely that nothing arrived for a while (after a restart the server may
   * take long to re-read WAL before it sends anything).
   */
  async #caughtUp(drained: boolean): Promise<boolean> {
    const conn = this.#conn;
    if (!drained || conn === undefined || this.#replay !== undefined || this.#tx !== undefined || conn.queuedCount > 0) return false;
    if (this.#caughtUpLsn === undefined) {
      const r = await this.#catalog.query('select pg_current_wal_flush_lsn()::text as l');
      const l = r.rows[0]?.['l'];
      if (typeof l !== 'string') return false;
      this.#caughtUpLsn = parseLsn(l);
    }
    const seen = conn.received > this.#seenEnd ? conn.received : this.#seenEnd;
    if (seen < this.#caughtUpLsn) return false;
    this.#caughtUpLsn = undefined;
    return true;
  }

  /** true when nothing is in flight: no open or streamed transaction, nothing unacknowledged. */
  #idle(): boolean {
    const conn = this.#conn;
    return this.#tx === undefined && this.#streams.size === 0 && this.#replay === undefined && this.#completed.length === 0 && conn !== undefined && conn.queuedCount === 0 && !conn.holding;
  }

  async #heartbeat(): Promise<void> {
    if (!this.#idle()) return;
    try {
      await this.#catalog.query(`select pg_logical_emit_message(false, $1, '')`, [HEARTBEAT_PREFIX]);
    } catch (err) {
      if (!this.#heartbeatWarned) this.#log.warn('heartbeat failed: an idle slot advances only on server keepalives', { err });
      this.#heartbeatWarned = true;
    }
  }

  async #checkSlot(): Promise<void> {
    try {
      const lost = await observeSlot(this.#catalog, this.#slotTarget(), { allTables: this.#allTables, warnBytes: this.#cfg.slot_lag_warn_bytes, metrics: this.#ctx.metrics, log: this.#log });
      if (lost !== undefined) {
        this.#fatal = lost;
        this.#log.error(lost.message);
        this.#conn?.interrupt();
      }
    } catch (err) {
      this.#log.warn('slot check failed', { err });
    }
  }

  #slotTarget(): SlotTarget {
    return { source: this.#ctx.name, slot: this.#slot, publication: this.#publication, selection: this.#selection };
  }

  #every(ms: number, fn: () => Promise<void>): void {
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      void fn().finally(() => {
        running = false;
      });
    }, ms);
    t.unref();
    this.#timers.push(t);
  }
}

/** The index part of a position after every event of its transaction (`END_OF_TX` in hex). */
const END_OF_TX_HEX = 'ffffffff';

/** A big-endian u64 (an LSN): one bigint from a double when exact, instead of Buffer's four bigint steps. */
function u64(b: Buffer, o: number): bigint {
  const hi = b.readUInt32BE(o);
  return hi < 0x200000 ? BigInt(hi * 0x100000000 + b.readUInt32BE(o + 4)) : b.readBigUInt64BE(o);
}

/** A commit time (i64 µs since 2000-01-01) as µs since 1970, like `readBigInt64BE(o) + PG_EPOCH_MICROS`. */
function commitMicros(b: Buffer, o: number): bigint {
  const raw = b.readInt32BE(o) * 0x100000000 + b.readUInt32BE(o + 4);
  const v = raw + PG_EPOCH_MICROS_NUMBER;
  return Number.isSafeInteger(raw) && Number.isSafeInteger(v) ? BigInt(v) : b.readBigInt64BE(o) + PG_EPOCH_MICROS;
}
const PG_EPOCH_MICROS_NUMBER = Number(PG_EPOCH_MICROS);

function newTx(commitLsn: bigint, xid: number, commitTime: bigint): TxContext {
  return txContext(formatPosition(commitLsn, 0).slice(0, 17), xid, new Timestamp(commitTime + PG_EPOCH_MICROS, true));
}

/** The `postgres` source descriptor. */
export const postgresSource: ComponentDescriptor<typeof postgresConfig, Source> = {
  kind: 'postgres',
  summary: 'PostgreSQL change stream: logical replication (pgoutput) with exact acknowledgements and lossless types.',
  config: postgresConfig,
  create: (config: z.output<typeof postgresConfig>, ctx) => new PostgresSource(config, ctx),
};

/** Moves event objects into an encoded batch, in order (the object path's events between records). */
function flushObjects(events: ChangeEvent[], enc: EncodedEventsBuilder): void {
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as ChangeEvent;
    enc.add(envelopeToJson(e), partitionKeyOf(e), e.source.position, e.source.table);
  }
  events.length = 0;
}
