/**
 * Chunk reads while changes stream (DBLog-style watermarks), for a load resumed after a
 * restart (the exported snapshot died with its connection) and for a re-snapshot of a table.
 *
 * Per chunk, on a normal connection:
 *   1. emit a low watermark L (`pg_logical_emit_message`, non-transactional: it sits at its own
 *      WAL position) and note `xmax` of a snapshot taken after it;
 *   2. open a REPEATABLE READ transaction whose snapshot has `xmin >= xmax(1)`: every
 *      transaction whose commit record precedes L is then visible to it (without this wait, a
 *      transaction that wrote its commit record before L but was not yet visible would be
 *      neither in the chunk nor between the watermarks);
 *   3. read the chunk with COPY binary, commit, and emit the high watermark H.
 * Meanwhile the change stream remembers the keys of this table changed between L and H
 * ({@link WatermarkWindow.observe}). At H the chunk's rows minus those keys become snapshot
 * events at H's position: a key changed between the watermarks already has a newer (or equal)
 * image in the stream, every other key's row is exactly its state at H.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ChangeEvent } from '../../../core/change-event.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Row } from '../../../core/values.ts';
import { formatPosition } from '../lsn.ts';
import { readChunk } from './chunk-reader.ts';
import { keyString } from './snapshot-rows.ts';
import type { ChunkTask } from './snapshot-tasks.ts';

/** Prefix of Hydrant's watermark messages. */
export const WATERMARK_PREFIX = 'hydrant.watermark';

/** What a closed window produced. */
export interface WindowResult {
  readonly events: ChangeEvent[];
  /** Rows dropped because a change between the watermarks superseded them. */
  readonly superseded: number;
  /** Position of the last event ('' when none). */
  readonly position: string;
}

/** One chunk's watermark window. */
export class WatermarkWindow {
  readonly id = randomUUID();
  readonly task: ChunkTask;
  #lowSeen = false;
  #truncated = false;
  readonly #changed = new Set<string>();
  rows: Row[] | undefined;
  readonly done: Promise<WindowResult>;
  #resolve!: (r: WindowResult) => void;
  #reject!: (e: unknown) => void;

  constructor(task: ChunkTask) {
    this.task = task;
    this.done = new Promise<WindowResult>((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
    // Rejections are awaited by the reader; never unhandled.
    this.done.catch(() => {});
  }

  /** Records changes of this table seen by the stream (only between the watermarks). */
  observe(events: readonly ChangeEvent[], from: number): void {
    if (!this.#lowSeen) return;
    const t = this.task.run.table;
    for (let i = from; i < events.length; i++) {
      const e = events[i] as ChangeEvent;
      if (e.source.table !== t.table || e.source.schema !== t.schema) continue;
      if (e.op === 'truncate') this.#truncated = true;
      else this.#changed.add(keyString(e.key));
    }
  }

  /** A watermark message of this window arrived at `lsn`. */
  message(kind: string, lsn: bigint): WindowResult | undefined {
    if (kind === 'low') {
      this.#lowSeen = true;
      return undefined;
    }
    if (kind !== 'high') return undefined;
    const rows = this.rows;
    if (!this.#lowSeen || rows === undefined) {
      this.#reject(new Error('the high watermark arrived without its low watermark or before the chunk was read (the stream reconnected): the chunk is read again'));
      return undefined;
    }
    const b = this.task.run.builder;
    const events: ChangeEvent[] = [];
    let superseded = 0;
    // A truncate between the watermarks: every row read is either gone or changed after it.
    if (this.#truncated) superseded = rows.length;
    else {
      for (const row of rows) {
        if (this.#changed.size > 0 && this.#changed.has(b.rowKey(row))) {
          superseded++;
          continue;
        }
        events.push(b.event(row, formatPosition(lsn, events.length)));
      }
    }
    const last = events[events.length - 1];
    const r: WindowResult = { events, superseded, position: last === undefined ? '' : last.source.position };
    this.#resolve(r);
    return r;
  }

  fail(err: unknown): void {
    this.#reject(err);
  }
}

/** Reads one chunk between watermarks; resolves once the window closed in the stream. */
export async function readBetweenWatermarks(client: pg.Client, w: WatermarkWindow, logger: Logger, signal: AbortSignal): Promise<WindowResult> {
  const emit = (kind: string): Promise<unknown> => client.query(`select pg_logical_emit_message(false, $1, $2)`, [WATERMARK_PREFIX, `${kind}:${w.id}`]);
  await emit('low');
  const xmaxAfterLow = BigInt(String((await client.query(`select pg_snapshot_xmax(pg_current_snapshot())::text as x`)).rows[0]?.x));
  for (let attempt = 1; ; attempt++) {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const xmin = BigInt(String((await client.query(`select pg_snapshot_xmin(pg_current_snapshot())::text as x`)).rows[0]?.x));
    if (xmin >= xmaxAfterLow) break;
    await client.query('ROLLBACK');
    if (signal.aborted) throw new Error('snapshot stopped');
    if (attempt % 400 === 0) logger.warn('snapshot chunk waits for transactions that were open at its low watermark to end', { table: w.task.run.name, waitingForXmin: String(xmaxAfterLow), xmin: String(xmin) });
    await new Promise((r) => setTimeout(r, 25));
  }
  const rows: Row[] = [];
  try {
    await readChunk(client, w.task.run.table, w.task.run.plan.by, w.task.chunk, (r) => rows.push(r));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  w.rows = rows;
  await emit('high');
  return w.done;
}
