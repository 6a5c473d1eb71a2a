/**
 * The `postgres` source's snapshot settings. They are spread into the source's config schema
 * (`config.ts`), so they sit beside the other source keys in a pipeline file.
 */
import { z } from 'zod';

/** Snapshot keys of the `postgres` source config. */
export const snapshotConfigFields = {
  snapshot: z.enum(['initial', 'never', 'only']).default('never').describe('`initial`: when the slot is created, first load every captured table (inside the slot\'s exported snapshot, so the load and the change stream meet without gap or overlap), then stream changes; `only`: load the tables once and stream nothing; `never`: stream changes only (rows written before the slot existed are not captured).'),
  snapshot_chunk_rows: z.number().int().min(100).max(10_000_000).default(50_000).describe('Rows per snapshot chunk (key or CTID range). A chunk is the unit of parallelism, of checkpoints (a restart resumes at the first unfinished chunk) and of watermark reads (held in memory while its watermarks pass).'),
  snapshot_workers: z.number().int().min(1).max(64).default(2).describe('Connections reading chunks in parallel during the load inside the exported snapshot.'),
  snapshot_max_rows_per_second: z.number().int().min(0).default(0).describe('Throttle: at most this many snapshot rows per second to protect the source database; 0 = unlimited.'),
  snapshot_retry_max_ms: z.number().int().min(100).default(60_000).describe('A table whose chunk fails is retried with exponential back-off up to this delay; other tables go on meanwhile.'),
};

/** Parsed snapshot settings. */
export interface SnapshotSettings {
  readonly snapshot: 'initial' | 'never' | 'only';
  readonly snapshot_chunk_rows: number;
  readonly snapshot_workers: number;
  readonly snapshot_max_rows_per_second: number;
  readonly snapshot_retry_max_ms: number;
}
