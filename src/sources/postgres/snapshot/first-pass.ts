/**
 * The load inside an exported snapshot: `workers` connections each import the snapshot
 * (`SET TRANSACTION SNAPSHOT`) into a REPEATABLE READ transaction and read chunks with COPY
 * binary in parallel. Rows are turned into events as they arrive and queued for the source's
 * `next()`; each gets the next position of a counter, so hand-out order is position order. When
 * the queue is full the readers' sockets pause (the server waits), so memory stays bounded.
 *
 * A failing chunk is retried with back-off (its table waits, other tables go on); after
 * `deferAfter` failures it is handed back (`onDeferred`) for a later watermark read instead of
 * holding the change stream back.
 */
import type pg from 'pg';
import { envelopeToJson, partitionKeyOf, type ChangeEvent } from '../../../core/change-event.ts';
import type { EncodedEvents } from '../../../core/encoded-events.ts';
import type { Logger } from '../../../core/logger.ts';
import type { TableSchema } from '../../../core/schema.ts';
import { CodecError } from '../../../core/errors.ts';
import { quoteLiteral } from '../replication-connection.ts';
import { readChunk } from './chunk-reader.ts';
import { tupleJsonReader, type JsonRows } from './copy-binary.ts';
import type { CopyOut } from './copy-out.ts';
import { EncodedQueue } from './encoded-queue.ts';
import type { SnapshotProgress } from './progress.ts';
import { backoffMs, takeSchema, type ChunkTask } from './snapshot-tasks.ts';

/** What the first pass needs. */
export interface FirstPassOptions {
  readonly connect: () => Promise<pg.Client>;
  /** Exported snapshot name to import. */
  readonly snapshotName: string;
  /** First 17 characters of every position (`formatPosition(lsn, 0).slice(0, 17)`). */
  readonly prefix: string;
  readonly workers: number;
  readonly tasks: readonly ChunkTask[];
  readonly retryMaxMs: number;
  /** Failures after which a chunk is deferred; undefined = retry here forever. */
  readonly deferAfter: number | undefined;
  readonly maxQueued: number;
  /**
   * Queue rows as stream records (envelope JSON bytes, see encoded-events.ts) instead of event
   * objects: the source's context has `encodedBatches`.
   */
  readonly encoded?: boolean;
  readonly logger: Logger;
  readonly progress: SnapshotProgress;
  /** A chunk was read completely; its rows are at or below `position` ('' = it had none). */
  onFinished(task: ChunkTask, position: string): void;
  onDeferred(task: ChunkTask): void;
}

/** One handed-out batch. */
export interface FirstPassBatch {
  readonly events: ChangeEvent[];
  /** Encoded mode: the rows as stream records (`events` is then empty). */
  readonly encoded?: EncodedEvents;
  readonly schemas: TableSchema[];
  /** Rows per task in this batch (for partial progress). */
  readonly counts: Map<ChunkTask, number>;
}

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class FirstPass {
  readonly #o: FirstPassOptions;
  readonly #pending: ChunkTask[];
  #events: ChangeEvent[] = [];
  /** Encoded mode: the queued rows (`#events` stays empty). */
  readonly #queue: EncodedQueue | undefined;
  /** Queued rows counted from the same origin as `#head` and the run ends. */
  #count = 0;
  /**
   * Which chunk each queued event came from, as runs (`#runTasks[i]` made the events up to index
   * `#runEnds[i]`): readers deliver hundreds of rows per socket read, so a run per row (or a Map
   * update per row in take()) was measurable at a million rows.
   */
  #runTasks: ChunkTask[] = [];
  #runEnds: number[] = [];
  #head = 0;
  #counter = 0;
  /** Position text of `#counter >>> 8` (all but the last two hex digits), reused for 256 rows. */
  #posHigh = -1;
  #posPrefix = '';
  #last = '';
  #running = 0;
  #closed = false;
  readonly #copies = new Set<CopyOut>();
  #paused = false;
  #wake: (() => void) | undefined;
  readonly #clients = new Set<pg.Client>();
  readonly #done: Promise<void>[] = [];

  constructor(o: FirstPassOptions) {
    this.#o = o;
    this.#pending = [...o.tasks];
    this.#queue = o.encoded === true ? new EncodedQueue() : undefined;
  }

  /** Starts the readers. */
  start(): void {
    const n = Math.min(this.#o.workers, Math.max(1, this.#pending.length));
    for (let i = 0; i < n; i++) {
      this.#running++;
      this.#done.push(this.#worker(i).finally(() => {
        this.#running--;
        this.#notify();
      }));
    }
  }

  /** true while rows are queued or readers run. */
  get active(): boolean {
    return this.#running > 0 || this.#head < this.#count;
  }

  /** Chunks no reader took (every reader failed to start): the caller defers them. */
  takeLeftovers(): ChunkTask[] {
    return this.#pending.splice(0);
  }

  /** Position of the last row queued ('' before the first). */
  get lastPosition(): string {
    return this.#last;
  }

  /** Takes up to `max` queued events, waiting up to `waitMs` for some. */
  async take(max: number, waitMs: number, signal: AbortSignal): Promise<FirstPassBatch> {
    if (this.#head >= this.#count && this.#running > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, waitMs);
        const onAbort = (): void => done();
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', onAbort);
          resolve();
        }
        signal.addEventListener('abort', onAbort, { once: true });
        this.#wake = done;
      });
      this.#wake = undefined;
    }
    // Fuller batches mean fewer appends, fsyncs and acknowledgements: give the readers a few
    // milliseconds to fill the batch when they are close behind.
    for (let i = 0; i < 4 && this.#running > 0 && this.#count - this.#head < max && !signal.aborted; i++) await new Promise((r) => setTimeout(r, 5));
    const head = this.#head;
    const end = Math.min(this.#count, head + max);
    const queue = this.#queue;
    const encoded = queue?.take(end - head);
    const events = queue === undefined ? this.#events.slice(head, end) : [];
    const counts = new Map<ChunkTask, number>();
    const schemas: TableSchema[] = [];
    // Runs that end at or before `end` are taken whole; the one `end` cuts stays (its start moves).
    let r = 0;
    let from = head;
    const runEnds = this.#runEnds;
    while (from < end) {
      const task = this.#runTasks[r] as ChunkTask;
      const to = Math.min(runEnds[r] as number, end);
      counts.set(task, (counts.get(task) ?? 0) + to - from);
      from = to;
      if (to === runEnds[r]) r++;
    }
    for (const [task, n] of counts) {
      takeSchema(task.run, schemas);
      this.#o.progress.rows(task.run.name, n);
    }
    this.#head = end;
    if (r > 0) {
      this.#runTasks.splice(0, r);
      this.#runEnds.splice(0, r);
    }
    if (this.#head === this.#count) {
      this.#events = [];
      this.#runTasks = [];
      this.#runEnds = [];
      this.#head = 0;
      this.#count = 0;
    } else if (this.#head > 65_536) {
      if (queue === undefined) this.#events = this.#events.slice(this.#head);
      for (let i = 0; i < this.#runEnds.length; i++) this.#runEnds[i] = (this.#runEnds[i] as number) - this.#head;
      this.#count -= this.#head;
      this.#head = 0;
    }
    if (this.#paused && this.#count - this.#head < this.#o.maxQueued / 2) {
      this.#paused = false;
      for (const c of this.#copies) c.resume();
    }
    return encoded === undefined ? { events, schemas, counts } : { events, encoded, schemas, counts };
  }

  /** Stops the readers (their transactions roll back) and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#copies) c.resume();
    // A reader stopped mid-COPY cannot end its connection politely (the server is still
    // sending): destroy the sockets, and never let a stuck reader hold up the close.
    for (const c of this.#clients) (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await Promise.race([Promise.allSettled(this.#done), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  async #begin(client: pg.Client): Promise<void> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(this.#o.snapshotName)}`);
  }

  async #worker(i: number): Promise<void> {
    const o = this.#o;
    let client: pg.Client;
    try {
      client = await o.connect();
      this.#clients.add(client);
      await this.#begin(client);
    } catch (err) {
      o.logger.warn('snapshot reader could not start inside the exported snapshot', { worker: i, err });
      return;
    }
    try {
      for (;;) {
        if (this.#closed) return;
        const task = this.#nextTask();
        if (task === undefined) return;
        if (task === 'wait') {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        try {
          await this.#read(client, task);
          task.run.failures = 0;
        } catch (err) {
          if (this.#closed) return;
          this.#failed(task, err);
          await client.query('ROLLBACK').catch(() => {});
          await this.#begin(client);
        }
      }
    } catch (err) {
      if (!this.#closed) o.logger.warn('snapshot reader stopped: its remaining chunks go to the other readers', { worker: i, err });
    } finally {
      this.#clients.delete(client);
      if (!this.#closed) await client.query('COMMIT').catch(() => {});
      await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
  }

  #nextTask(): ChunkTask | 'wait' | undefined {
    const now = Date.now();
    for (let i = 0; i < this.#pending.length; i++) {
      const t = this.#pending[i] as ChunkTask;
      if (t.run.retryAt <= now) {
        this.#pending.splice(i, 1);
        return t;
      }
    }
    return this.#pending.length > 0 ? 'wait' : undefined;
  }

  async #read(client: pg.Client, task: ChunkTask): Promise<void> {
    const o = this.#o;
    const run = task.run;
    let copy: CopyOut | undefined;
    const builder = run.builder;
    const queue = this.#queue;
    const table = run.table.table;
    const jsonRead = queue === undefined ? undefined : tupleJsonReader(run.table.columns, run.table.key);
    // Encoded mode: straight from the bytes to the record's JSON, or (columns the JSON reader
    // does not take) through the event object and its envelope text: the same record either way.
    const json: JsonRows | undefined = queue === undefined || jsonRead === undefined ? undefined : {
      read: jsonRead,
      onRow: (rowJson, keyJson) => {
        const pos = this.#nextPosition();
        queue.add(builder.envelopeJson(rowJson, keyJson, pos), builder.partitionKey(keyJson), pos, table);
        this.#queued(task, pos);
      },
    };
    await readChunk(client, run.table, run.plan.by, task.chunk, (row) => {
      const pos = this.#nextPosition();
      if (queue === undefined) this.#events.push(builder.event(row, pos));
      else {
        const e = builder.event(row, pos);
        queue.add(envelopeToJson(e), partitionKeyOf(e), pos, table);
      }
      this.#queued(task, pos);
    }, (c) => {
      if (copy !== undefined) this.#copies.delete(copy);
      copy = c;
      if (c !== undefined) {
        this.#copies.add(c);
        if (this.#paused) c.pause();
      }
    }, json);
    o.onFinished(task, this.#last);
  }

  #nextPosition(): string {
    const n = this.#counter++;
    if (n >= 0xffffffff) throw new CodecError('snapshot: more than 4,294,967,294 rows in one load inside the exported snapshot; split the load with include/exclude');
    if (n >>> 8 !== this.#posHigh) {
      this.#posHigh = n >>> 8;
      this.#posPrefix = this.#o.prefix + (n >>> 8).toString(16).padStart(6, '0');
    }
    return this.#posPrefix + (HEX2[n & 0xff] as string);
  }

  /** Books a row just queued at `pos`: its chunk's run, backpressure, a waiting take(). */
  #queued(task: ChunkTask, pos: string): void {
    const count = ++this.#count;
    const runs = this.#runTasks.length;
    if (runs > 0 && this.#runTasks[runs - 1] === task) this.#runEnds[runs - 1] = count;
    else {
      this.#runTasks.push(task);
      this.#runEnds.push(count);
    }
    this.#last = pos;
    if (!this.#paused && count - this.#head >= this.#o.maxQueued) {
      this.#paused = true;
      for (const c of this.#copies) c.pause();
    }
    this.#notify();
  }

  #failed(task: ChunkTask, err: unknown): void {
    const o = this.#o;
    const run = task.run;
    run.failures++;
    if (o.deferAfter !== undefined && run.failures >= o.deferAfter) {
      o.logger.warn('snapshot chunk keeps failing: deferred to a watermark read after the load; other tables go on', { table: run.name, chunk: task.index, failures: run.failures, err });
      o.onDeferred(task);
      return;
    }
    const delay = backoffMs(run.failures, o.retryMaxMs);
    run.retryAt = Date.now() + delay;
    o.logger.warn('snapshot chunk failed: its table is retried after a back-off, other tables go on', { table: run.name, chunk: task.index, failures: run.failures, retryInMs: delay, err });
    this.#pending.unshift(task);
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}
