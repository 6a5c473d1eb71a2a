/**
 * The transform contract: a transform maps a batch. It sits on a source edge (before anything
 * is stored: anonymization belongs there) or on a delivery edge (per destination, like
 * Firehose's Lambda). Records it cannot process are returned in `failed` with a reason; the
 * runner sends them to `errors/<delivery or source>/processing-failed/` (naming the transform)
 * and goes on.
 */
import type { Envelope } from '../core/change-event.ts';
import type { TableSchema } from '../core/schema.ts';

export interface TransformItem {
  /** Unique within the batch (the Firehose recordId). */
  readonly id: string;
  readonly envelope: Envelope;
  /** Epoch ms when the record arrived (stream arrival time, or capture time on a source edge). */
  readonly arrivalTime: number;
  /** Partition keys for the lake's dynamic partitioning (from a function transform). */
  readonly partitionKeys?: Readonly<Record<string, string>>;
}

export interface FailedItem {
  readonly item: TransformItem;
  readonly reason: string;
  readonly attempts: number;
}

export interface TransformResult {
  readonly items: TransformItem[];
  readonly failed: FailedItem[];
}

export interface Transform {
  apply(items: readonly TransformItem[]): Promise<TransformResult>;
  close(): Promise<void>;
  /**
   * Optional: the schema of the rows this transform outputs for a table whose input schema is
   * `schema` (renamed table or columns, dropped or added columns, changed types), or null when
   * the transform drops the table. Transforms that reshape rows implement it so that schemas
   * recorded for a source edge describe what is stored (see `mapSchemaThrough`). Absent means
   * the schema is unchanged.
   */
  mapSchema?(schema: TableSchema): TableSchema | null;
  /**
   * Optional: true when the columns this transform outputs depend on the values (`flatten`,
   * `function`), so no schema can describe them in advance. A source edge holding such a
   * transform records no table schemas: the lake then infers column types from the values, so
   * nothing is dropped. Absent means false.
   */
  readonly columnsFromValues?: boolean;
}
