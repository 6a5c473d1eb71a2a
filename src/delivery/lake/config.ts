/** Config schema of the `lake` delivery. */
import { z } from 'zod';
import { COMPRESSIONS } from '../compression.ts';
import { FORMATS } from '../formats/format.ts';
import { isTimeZone } from '../partitioning.ts';

const HOURLY = (t: string): string => `year={${t}:YYYY}/month={${t}:MM}/day={${t}:DD}/hour={${t}:HH}`;

export const lakeDeliveryConfig = z.strictObject({
  format: z.enum(FORMATS).default('parquet').describe('Object format: Parquet with typed columns, newline-delimited JSON, or CSV.'),
  compression: z.enum(COMPRESSIONS).default('zstd').describe('Codec: inside the file for Parquet, of the whole object for JSONL/CSV (adds .gz/.snappy/.zst).'),
  csv_header: z.boolean().default(true).describe('CSV: write a header line with the column names.'),
  changes_prefix: z.string().min(1).default(`databases/{source}/{schema}/{table}/changes/${HOURLY('event_time')}`).describe('Prefix template for database changes (see docs/lake.md: {source} {schema} {table} {field:NAME} {key:NAME} {event_time:FMT} {arrival_time:FMT}).'),
  events_prefix: z.string().min(1).default(`events/{source}/${HOURLY('arrival_time')}`).describe('Prefix template for events and log lines (op "event").'),
  time_zone: z.string().default('UTC').refine(isTimeZone, { message: 'unknown IANA time zone' }).describe('Time zone of the time placeholders in prefix templates, e.g. `Europe/Berlin`.'),
  buffer_size_mib: z.number().min(0.001).max(128).default(64).describe('An open partition is written out once it holds about this many MiB (1..128, like Firehose).'),
  buffer_interval_s: z.number().min(0).max(900).default(300).describe('An open partition is written out once its oldest record is this old (0..900 s; 0 = on every write batch).'),
  memory_budget_mib: z.number().min(1).default(256).describe('Global budget across all open partitions; when reached the oldest partition is written out first.'),
  max_open_partitions: z.number().int().min(1).default(1000).describe('Cap on open partitions (buffers).'),
  on_partition_limit: z.enum(['flush_oldest', 'fail']).default('flush_oldest').describe('At the cap: write out the oldest partition to make room, or stop with an error naming the prefix template.'),
  layout: z.enum(['hydrant', 'dms']).default('hydrant').describe('`dms`: AWS DMS-compatible names for database changes (<schema>/<table>/LOAD00000001.<ext> and timestamped change files with an Op column).'),
  dms_commit_timestamp: z.boolean().default(false).describe('DMS layout: add a commit-timestamp column after Op.'),
  notify_stream: z.string().min(1).optional().describe('Stream that receives an object-created event after each commit (at least once).'),
  parquet_row_group_size: z.number().int().min(1024).default(122_880).describe('Parquet rows per row group.'),
  duckdb_memory_mib: z.number().int().min(16).default(256).describe('Memory limit of the embedded DuckDB that writes Parquet.'),
});

export type LakeDeliveryConfig = z.output<typeof lakeDeliveryConfig>;
