/**
 * The PostgreSQL snapshot engine: plans each captured table into chunks, reads them (inside the
 * slot's exported snapshot first, between watermarks in the change stream after a restart or for
 * a re-snapshot), turns rows into `op: 'snapshot'` events, and checkpoints every chunk in the
 * state store once its rows are durable. The `postgres` source drives it:
 *
 * - {@link SnapshotEngine.holdsStream}: while true the source hands out {@link nextBatch}
 *   batches and does not stream changes yet (the exported snapshot's rows come first);
 * - {@link SnapshotEngine.onMessage} / {@link SnapshotEngine.observe}: the change stream's
 *   watermark messages and changes, for watermark reads; `hydrant.resnapshot` messages start a
 *   re-snapshot of a table;
 * - {@link SnapshotEngine.ack}: positions the runner made durable (chunk checkpoints follow).
 *
 * Positions are explained in `snapshot-rows.ts` and docs/sources/postgres-snapshot.md.
 */
import type pg from 'pg';
import type { ChangeEvent } from '../../../core/change-event.ts';
import type { EncodedEvents } from '../../../core/encoded-events.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Metrics } from '../../../core/metrics.ts';
import type { TableSchema } from '../../../core/schema.ts';
import { crashPoint } from '../../../core/crash.ts';
import { sleep } from '../../../core/sleep.ts';
import { Timestamp } from '../../../core/values.ts';
import type { StateStore } from '../../../state/state-store.ts';
import { matchingTables, type SqlClient } from '../catalog.ts';
import type { TableSelection } from '../config.ts';
import { formatPosition } from '../lsn.ts';
import type { ReplicationConnectOptions } from '../replication-connection.ts';
import type { TypeResolver } from '../type-map.ts';
import { ChunkCheckpoints } from './chunk-checkpoints.ts';
import { connectReader } from './chunk-reader.ts';
import { FirstPass } from './first-pass.ts';
import { SnapshotProgress } from './progress.ts';
import type { SnapshotSettings } from './snapshot-config.ts';
import { initialKey, loadTables, type TablePlan } from './snapshot-state.ts';
import { backoffMs, takeSchema, type ChunkTask } from './snapshot-tasks.ts';
import { TablePlanner, type CatalogRef } from './table-planner.ts';
import { readBetweenWatermarks, WATERMARK_PREFIX, WatermarkWindow } from './watermark-reader.ts';

/** Prefix of the message `hydrant resnapshot` emits (content: `schema.table`). */
export const RESNAPSHOT_PREFIX = 'hydrant.resnapshot';

/** What the engine needs from its source. */
export interface SnapshotEngineOptions {
  readonly source: string;
  readonly database: string;
  readonly settings: SnapshotSettings;
  readonly connect: ReplicationConnectOptions;
  /** The source's catalog connection. */
  readonly sql: SqlClient;
  readonly selection: TableSelection;
  readonly resolver: TypeResolver;
  readonly state: StateStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How long an empty {@link SnapshotEngine.nextBatch} waits for rows. */
  readonly idleWaitMs: number;
  /** Hand out the load inside the exported snapshot as stream records (`SnapshotBatch.encoded`). */
  readonly encoded?: boolean;
}

/** A snapshot exported by slot creation (or by `pg_export_snapshot()` for `only`). */
export interface ExportedSnapshot {
  readonly name: string;
  /** Rows are positioned at `formatPosition(lsn, n)`. */
  readonly positionLsn: bigint;
  /** Ends the exporting session (the snapshot dies with it). */
  release(): Promise<void>;
}

/** A batch of the load inside the exported snapshot. */
export interface SnapshotBatch {
  readonly events: ChangeEvent[];
  /** With `encoded`: the rows as stream records (see encoded-events.ts); `events` is then empty. */
  readonly encoded?: EncodedEvents;
  readonly schemas: TableSchema[];
  readonly position: string;
  readonly caughtUp: boolean;
}

interface Replan {
  readonly schema: string;
  readonly table: string;
  readonly reason: TablePlan['reason'];
  readonly request: string | undefined;
  failures: number;
  retryAt: number;
}

export class SnapshotEngine {
  readonly #o: SnapshotEngineOptions;
  readonly #progress: SnapshotProgress;
  readonly #log: Logger;
  #first: FirstPass | undefined;
  #exported: ExportedSnapshot | undefined;
  /** Position handed out last (the source's start position before that). */
  #position: string;
  readonly #checkpoints: ChunkCheckpoints;
  /** Chunk reads waiting for the change stream. */
  #watermarkQueue: ChunkTask[] = [];
  #window: WatermarkWindow | undefined;
  #loop: Promise<void> | undefined;
  #loopWake: (() => void) | undefined;
  readonly #abort = new AbortController();
  #streaming = false;
  readonly #planner: TablePlanner;
  /** Tables whose planning failed, planned again with back-off. */
  #replan: Replan[] = [];

  constructor(o: SnapshotEngineOptions, startPosition: string) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'snapshot' });
    this.#progress = new SnapshotProgress(o.source, o.metrics, this.#log);
    this.#checkpoints = new ChunkCheckpoints(o.state, o.source, this.#progress);
    this.#planner = new TablePlanner({ ...o, logger: this.#log, progress: this.#progress, commitTime: Timestamp.fromMillis(Date.now()) });
    this.#position = startPosition;
  }

  /**
   * Sets the engine up. `exported` is given when the slot was just created with an exported
   * snapshot (or, for `only`, a snapshot was exported): the tables are planned and loaded
   * inside it. Otherwise unfinished chunks of stored plans resume with watermarks, and with
   * `initial` a slot that existed before any load gets a watermark load of every table.
   */
  async start(exported: ExportedSnapshot | undefined): Promise<void> {
    const o = this.#o;
    const marker = await o.state.get(initialKey(o.source));
    if (exported !== undefined) {
      this.#exported = exported;
      const reader = await connectReader(o.connect, 'snapshot planner');
      let tasks: ChunkTask[];
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await reader.query(`SET TRANSACTION SNAPSHOT '${exported.name.replace(/'/g, "''")}'`);
        // A new slot always loads everything; `only` resumes its unfinished chunks (in a new snapshot).
        const only = o.settings.snapshot === 'only';
        tasks = only && marker !== undefined ? await this.#resumeTasks() : await this.#planAll(reader, only ? 'only' : 'initial', exported.positionLsn);
        await reader.query('COMMIT');
      } finally {
        await reader.end().catch(() => {});
      }
      if (tasks.length === 0) {
        await exported.release().catch(() => {});
        this.#exported = undefined;
        return;
      }
      this.#startFirstPass(exported, tasks);
      return;
    }
    if (o.settings.snapshot === 'initial' && marker === undefined) {
      // The slot existed before any load (created by `snapshot: never`, or by hand): load every
      // table with watermarks, which is consistent with the stream whatever the slot's position.
      const reader = await connectReader(o.connect, 'snapshot planner');
      try {
        this.#watermarkQueue.push(...(await this.#planAll(reader, 'initial', 0n)));
      } finally {
        await reader.end().catch(() => {});
      }
    } else {
      this.#watermarkQueue.push(...(await this.#resumeTasks()));
    }
  }

  /** true while the load inside the exported snapshot runs: changes must wait. */
  get holdsStream(): boolean {
    return this.#first !== undefined || (this.#o.settings.snapshot === 'only');
  }

  /** true while any chunk is queued or being read. */
  get busy(): boolean {
    return this.#first !== undefined || this.#watermarkQueue.length > 0 || this.#window !== undefined || this.#replan.length > 0;
  }

  /** The last position handed out. */
  get position(): string {
    return this.#position;
  }

  /** Progress per table. */
  get progress(): SnapshotProgress {
    return this.#progress;
  }

  /** Next batch of the load inside the exported snapshot (`holdsStream` only). */
  async nextBatch(signal: AbortSignal, max: number): Promise<SnapshotBatch> {
    const first = this.#first;
    if (first === undefined) {
      // `only`, finished: nothing will ever come.
      await new Promise((r) => setTimeout(r, Math.min(this.#o.idleWaitMs, 1000)));
      return { events: [], schemas: [], position: this.#position, caughtUp: this.#watermarkQueue.length === 0 };
    }
    const b = await first.take(Math.min(max, await this.#throttle(max, signal)), this.#o.idleWaitMs, signal);
    const last = b.encoded !== undefined ? b.encoded.positions[b.encoded.count - 1] : b.events[b.events.length - 1]?.source.position;
    if (last !== undefined) {
      this.#position = last;
      this.#checkpoints.handedOut(this.#position, b.counts);
    }
    if (!first.active) await this.#endFirstPass(first);
    if (last !== undefined) crashPoint('snapshot.batch_handed');
    return { events: b.events, ...(b.encoded !== undefined ? { encoded: b.encoded } : {}), schemas: b.schemas, position: this.#position, caughtUp: false };
  }

  /** The source streams changes from now on: start watermark reads. */
  streamStarted(): void {
    this.#streaming = true;
    this.#loop ??= this.#watermarkLoop();
    this.#loopWake?.();
  }

  /**
   * A logical decoding message from the stream. Watermarks of the current window may append
   * the chunk's rows to `events` (and a new schema to `schemas`); returns the position of the
   * last appended event.
   */
  async onMessage(m: { prefix: string; content: Buffer; lsn: bigint }, events: ChangeEvent[], schemas: TableSchema[]): Promise<string | undefined> {
    if (m.prefix === RESNAPSHOT_PREFIX) {
      await this.resnapshot(m.content.toString('utf8'), m.lsn);
      return undefined;
    }
    if (m.prefix !== WATERMARK_PREFIX) return undefined;
    const text = m.content.toString('utf8');
    const colon = text.indexOf(':');
    const w = this.#window;
    if (w === undefined || text.slice(colon + 1) !== w.id) return undefined;
    const r = w.message(text.slice(0, colon), m.lsn);
    if (r === undefined) return undefined;
    const task = w.task;
    if (r.events.length > 0) takeSchema(task.run, schemas);
    for (const e of r.events) events.push(e);
    this.#progress.rows(task.run.name, r.events.length);
    if (r.superseded > 0) this.#progress.superseded(task.run.name, r.superseded);
    this.#checkpoints.finished(task, r.position, r.events.length, r.superseded);
    if (r.position !== '') this.#position = r.position;
    return r.position === '' ? undefined : r.position;
  }

  /** Changes the source just built (`events[from..]`): remembered while a window is open. */
  /** True while a watermark window watches the change stream (its changes must be objects, see {@link observe}). */
  get watching(): boolean {
    return this.#window !== undefined;
  }

  observe(events: readonly ChangeEvent[], from: number): void {
    this.#window?.observe(events, from);
  }

  /** Everything at or below `position` is durable: checkpoint the chunks it completes. */
  async ack(position: string): Promise<void> {
    await this.#checkpoints.ack(position);
  }

  /**
   * Starts a re-snapshot of `schema.table` (with watermarks, while changes stream). `requestLsn`
   * is the request message's position: a request the stream delivers again after a restart
   * (its plan already records it) is not started twice.
   */
  async resnapshot(name: string, requestLsn?: bigint): Promise<void> {
    const o = this.#o;
    const dot = name.indexOf('.');
    const schema = dot < 0 ? 'public' : name.slice(0, dot);
    const table = dot < 0 ? name : name.slice(dot + 1);
    const request = requestLsn === undefined ? undefined : requestLsn.toString(16).padStart(16, '0');
    if (request !== undefined) {
      const existing = (await loadTables(o.state, o.source)).find((s) => s.plan.schema === schema && s.plan.table === table);
      if (existing?.plan.request !== undefined && existing.plan.request >= request) return;
    }
    const t = (await matchingTables(o.sql, o.selection)).find((x) => x.schema === schema && x.table === table);
    if (t === undefined) {
      this.#log.warn('re-snapshot request for a table this source does not capture: ignored', { table: `${schema}.${table}` });
      return;
    }
    const reader = await connectReader(o.connect, 'snapshot planner');
    try {
      this.#watermarkQueue = this.#watermarkQueue.filter((x) => x.run.name !== `${schema}.${table}`);
      this.#watermarkQueue.push(...(await this.#planTables(reader, [t], 'resnapshot', request)));
    } finally {
      await reader.end().catch(() => {});
    }
    this.#log.info('re-snapshot of table started', { table: `${schema}.${table}` });
    this.#loopWake?.();
  }

  async close(): Promise<void> {
    this.#abort.abort();
    this.#window?.fail(new Error('snapshot engine closed'));
    this.#loopWake?.();
    await this.#first?.close();
    this.#first = undefined;
    await this.#exported?.release().catch(() => {});
    this.#exported = undefined;
    await this.#loop?.catch(() => {});
    this.#progress.close();
  }

  async #planAll(reader: pg.Client, reason: TablePlan['reason'], positionLsn: bigint): Promise<ChunkTask[]> {
    const o = this.#o;
    const tables = await matchingTables(reader, o.selection);
    const tasks = await this.#planTables(reader, tables, reason, undefined, true);
    await o.state.commit([{ type: 'put', key: initialKey(o.source), value: { positionLsn: positionLsn.toString(16), startedAt: new Date().toISOString(), tables: tables.length } }]);
    return tasks;
  }

  /**
   * Plans tables. A table that cannot be planned (e.g. no SELECT privilege) gets a placeholder
   * plan without chunks (`unplanned`) and is planned again later with back-off; the others go
   * on. `inTransaction`: the reader is inside the exported snapshot, so each table gets a
   * savepoint (an error would abort the whole transaction).
   */
  async #planTables(reader: pg.Client, tables: readonly CatalogRef[], reason: TablePlan['reason'], request?: string, inTransaction = false): Promise<ChunkTask[]> {
    const tasks: ChunkTask[] = [];
    for (const ct of tables) {
      try {
        if (inTransaction) await reader.query('SAVEPOINT hydrant_plan');
        tasks.push(...(await this.#planner.plan(reader, ct, reason, request)));
        if (inTransaction) await reader.query('RELEASE SAVEPOINT hydrant_plan');
      } catch (err) {
        if (inTransaction) await reader.query('ROLLBACK TO SAVEPOINT hydrant_plan');
        await this.#planner.placeholder(ct, reason, request);
        this.#replanLater({ schema: ct.schema, table: ct.table, reason, request, failures: 0, retryAt: 0 }, err);
      }
    }
    return tasks;
  }

  #replanLater(r: Replan, err: unknown): void {
    r.failures++;
    const delay = backoffMs(r.failures, this.#o.settings.snapshot_retry_max_ms);
    r.retryAt = Date.now() + delay;
    this.#replan = this.#replan.filter((x) => x.schema !== r.schema || x.table !== r.table);
    this.#replan.push(r);
    this.#log.warn('snapshot cannot plan table: it is retried after a back-off, other tables go on', { table: `${r.schema}.${r.table}`, failures: r.failures, retryInMs: delay, err });
    this.#loopWake?.();
  }

  /** Plans one due table of {@link #replan} (watermark loop). */
  async #replanDue(): Promise<boolean> {
    const now = Date.now();
    const r = this.#replan.find((x) => x.retryAt <= now);
    if (r === undefined) return false;
    this.#replan = this.#replan.filter((x) => x !== r);
    const o = this.#o;
    const ct = (await matchingTables(o.sql, o.selection)).find((x) => x.schema === r.schema && x.table === r.table);
    if (ct === undefined) return true;
    const reader = await connectReader(o.connect, 'snapshot planner');
    try {
      this.#watermarkQueue.push(...(await this.#planner.plan(reader, ct, r.reason, r.request)));
    } catch (err) {
      this.#replanLater(r, err);
    } finally {
      await reader.end().catch(() => {});
    }
    return true;
  }

  /** Unfinished chunks of the stored plans (tables left unplanned are planned again later). */
  async #resumeTasks(): Promise<ChunkTask[]> {
    const { tasks, unplanned } = await this.#planner.resume(() => connectReader(this.#o.connect, 'snapshot planner'));
    for (const u of unplanned) this.#replan.push({ ...u, failures: 0, retryAt: 0 });
    return tasks;
  }

  #startFirstPass(exported: ExportedSnapshot, tasks: ChunkTask[]): void {
    const o = this.#o;
    const first = new FirstPass({
      connect: () => connectReader(o.connect, 'snapshot reader'),
      snapshotName: exported.name,
      prefix: formatPosition(exported.positionLsn, 0).slice(0, 17),
      workers: o.settings.snapshot_workers,
      tasks,
      retryMaxMs: o.settings.snapshot_retry_max_ms,
      deferAfter: o.settings.snapshot === 'only' ? undefined : 3,
      maxQueued: 20_000,
      encoded: o.encoded === true,
      logger: this.#log,
      progress: this.#progress,
      onFinished: (task, position) => {
        this.#checkpoints.finished(task, position, undefined, 0);
      },
      onDeferred: (task) => this.#watermarkQueue.push(task),
    });
    this.#first = first;
    first.start();
  }

  async #endFirstPass(first: FirstPass): Promise<void> {
    this.#watermarkQueue.push(...first.takeLeftovers());
    await first.close();
    this.#first = undefined;
    await this.#exported?.release().catch(() => {});
    this.#exported = undefined;
    this.#log.info('snapshot: load inside the exported snapshot done', { deferredChunks: this.#watermarkQueue.length });
  }

  async #throttle(max: number, signal: AbortSignal): Promise<number> {
    const rate = this.#o.settings.snapshot_max_rows_per_second;
    if (rate <= 0) return max;
    // One batch's worth of rows per (batch / rate) seconds.
    const n = Math.max(1, Math.min(max, Math.floor(rate / 4)));
    await sleep((n / rate) * 1000, signal);
    return n;
  }

  async #watermarkLoop(): Promise<void> {
    const o = this.#o;
    const signal = this.#abort.signal;
    let client: pg.Client | undefined;
    try {
      while (!signal.aborted) {
        if (this.#streaming && (await this.#replanDue())) continue;
        const now = Date.now();
        const i = this.#watermarkQueue.findIndex((t) => t.run.retryAt <= now);
        if (i < 0 || !this.#streaming) {
          const due = Math.min(...this.#watermarkQueue.map((t) => t.run.retryAt), ...this.#replan.map((r) => r.retryAt));
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, Number.isFinite(due) ? Math.max(10, due - now) : 60_000);
            this.#loopWake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          this.#loopWake = undefined;
          continue;
        }
        const task = this.#watermarkQueue[i] as ChunkTask;
        const w = new WatermarkWindow(task);
        this.#window = w;
        try {
          client ??= await connectReader(o.connect, 'snapshot watermarks');
          const r = await readBetweenWatermarks(client, w, this.#log, signal);
          this.#watermarkQueue = this.#watermarkQueue.filter((t) => t !== task);
          task.run.failures = 0;
          const rate = o.settings.snapshot_max_rows_per_second;
          if (rate > 0) await sleep(((r.events.length + r.superseded) / rate) * 1000, signal);
        } catch (err) {
          if (signal.aborted) break;
          const run = task.run;
          run.failures++;
          const delay = backoffMs(run.failures, o.settings.snapshot_retry_max_ms);
          run.retryAt = Date.now() + delay;
          this.#log.warn('snapshot chunk failed: its table is retried after a back-off, other tables go on', { table: run.name, chunk: task.index, failures: run.failures, retryInMs: delay, err });
          await client?.end().catch(() => {});
          client = undefined;
        } finally {
          this.#window = undefined;
        }
      }
    } finally {
      await client?.end().catch(() => {});
    }
  }
}

