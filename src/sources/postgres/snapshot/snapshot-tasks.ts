/**
 * In-memory bookkeeping of a running load: one {@link TableRun} per table being loaded and one
 * {@link ChunkTask} per chunk still to read.
 */
import type { TableSchema } from '../../../core/schema.ts';
import type { Chunk } from './chunk-planner.ts';
import type { SnapshotRowBuilder } from './snapshot-rows.ts';
import type { TablePlan } from './snapshot-state.ts';
import type { SnapshotTable } from './snapshot-table.ts';

/** One table's load in this process. */
export interface TableRun {
  /** `schema.table`. */
  readonly name: string;
  readonly table: SnapshotTable;
  readonly plan: TablePlan;
  readonly builder: SnapshotRowBuilder;
  /** The schema version is new: hand it out with the next batch of this table's rows. */
  schemaPending: boolean;
  /** Consecutive failures (reset by a successful chunk). */
  failures: number;
  /** Earliest time (ms) the table's next chunk may be tried after a failure. */
  retryAt: number;
}

/** One chunk to read. */
export interface ChunkTask {
  readonly run: TableRun;
  readonly index: number;
  readonly chunk: Chunk;
  /** Rows of this chunk handed out and acknowledged durable (persisted as partial progress). */
  durableRows: number;
  /** Rows durable before a restart (for the "read again" report). */
  readonly previouslyDurable: number;
  /** Checkpointed as done: its partial progress is never written again. */
  completed: boolean;
}

/** Takes the schema for a batch when the table's version is new. */
export function takeSchema(run: TableRun, schemas: TableSchema[]): void {
  if (!run.schemaPending) return;
  run.schemaPending = false;
  schemas.push(run.builder.schema);
}

/** Exponential back-off for a failing table, capped. */
export function backoffMs(failures: number, maxMs: number): number {
  return Math.min(maxMs, 500 * 2 ** Math.min(20, failures - 1));
}
