/**
 * Output formats of the lake delivery. A format writes a batch of rows with known columns into
 * a local file; rows it cannot convert are skipped and reported (they go to the delivery's
 * `errors/<delivery>/format-conversion-failed/` prefix), the rest are written.
 */
import type { ColumnType } from '../../core/schema.ts';
import type { Row, Value } from '../../core/values.ts';
import type { Compression } from '../compression.ts';

/** One output column. */
export interface OutputColumn {
  readonly name: string;
  readonly type: ColumnType;
}

/** A row a format could not convert, by index in the batch. */
export interface FailedRow {
  readonly index: number;
  readonly error: string;
}

/** Result of writing one file. */
export interface WriteResult {
  /** Rows written. */
  readonly rows: number;
  readonly failed: readonly FailedRow[];
}

/**
 * The rows of one object, read by column name. Buffers implement it over the envelopes they
 * hold, so no per-row object is built between buffering and formatting.
 */
export interface RowSource {
  readonly length: number;
  /** The value of `column` in row `i` (null when absent). */
  value(i: number, column: string): Value;
}

/** A {@link RowSource} over plain rows. */
export function fromRows(rows: readonly Row[]): RowSource {
  return { length: rows.length, value: (i, column) => (rows[i] as Row)[column] ?? null };
}

export interface FormatWriter {
  /** File extension without compression suffix, e.g. `parquet`. */
  readonly extension: string;
  readonly contentType: string;
  /** Writes rows (in order) into `file`, compressed with `compression`. */
  write(columns: readonly OutputColumn[], rows: RowSource, file: string, compression: Compression): Promise<WriteResult>;
  close(): Promise<void>;
}

/** Format names a delivery can choose. */
export const FORMATS = ['parquet', 'jsonl', 'csv'] as const;
export type FormatName = (typeof FORMATS)[number];
