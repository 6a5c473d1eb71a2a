/**
 * Zod schemas of the pipeline file's own sections. Component sections (`sources`, `transforms`,
 * `deliveries`) are only checked for shape here; each entry's config is validated against its
 * kind's descriptor by `validate-pipeline.ts`. The `lake` section's schema belongs to the lake
 * (`src/lake/lake-config.ts`).
 */
import { z } from 'zod';
import { lakeConfigSchema } from '../lake/lake-config.ts';
import { currentStateConfigSchema } from '../runtime/current-state-config.ts';
import { byteSize, duration } from './units.ts';

/** Names of pipelines, streams and components: they end up in state keys and object paths. */
export const componentName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)
  .max(64)
  .describe('Letters, digits, `_` and `-`, starting with a letter or digit.');

/** `state:` — where checkpoints, positions, the catalog and leases live. */
export const stateConfigSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('embedded').describe('Files under `<data_dir>/state/` (single process per data_dir).'),
      compact_after: byteSize({ min: 4096 }).prefault('16MiB').describe('Journal size after which a snapshot is written and the journal restarts.'),
    }),
  ])
  .prefault({ type: 'embedded' })
  .describe('The state store: checkpoints, source positions, catalog, schema versions, leases.');

/** One entry of `streams:`. */
export const streamConfigSchema = z
  .strictObject({
    shards: z.number().int().min(1).max(1024).default(1).describe('Number of shards; records are spread by the MD5 of their partition key.'),
    backend: z.enum(['embedded']).default('embedded').describe('Where the log lives: `embedded` = segment files under `<data_dir>/streams/`.'),
    retention_age: duration({ min: 1000 }).prefault('24h').describe('Records older than this become eligible for deletion.'),
    retention_bytes: byteSize({ min: 1 }).optional().describe('Per-shard size above which the oldest records become eligible for deletion; unset = no size limit.'),
    retention_policy: z.enum(['delete', 'hold']).default('delete').describe('`delete`: drop eligible records even when a consumer has not read them yet; `hold`: keep them until every consumer has checkpointed past them.'),
  })
  .describe('A durable, sharded, replayable stream.');

/** Keys every source entry has besides its kind's own config. */
export const sourceEdgeSchema = z.strictObject({
  type: z.string().describe('Source kind (see the list of sources).'),
  stream: componentName.describe('Stream the source appends to.'),
  transforms: z.array(componentName).default([]).describe('Transforms (names under `transforms:`) applied, in order, before records are stored.'),
});

/** Keys every delivery entry has besides its kind's own config. */
export const deliveryEdgeSchema = z.strictObject({
  type: z.string().describe('Delivery kind (see the list of deliveries).'),
  stream: componentName.describe('Stream the delivery reads.'),
  transforms: z.array(componentName).default([]).describe('Transforms (names under `transforms:`) applied, in order, to this delivery only.'),
});

/** Keys every transform entry has besides its kind's own config. */
export const transformEdgeSchema = z.strictObject({
  type: z.string().describe('Transform kind (see the list of transforms).'),
});

const entries = z.record(componentName, z.record(z.string(), z.unknown()));

/** The whole file, with component entries left for the per-kind pass. */
export const pipelineFileSchema = z.strictObject({
  name: componentName.describe('Pipeline name (used in metrics, logs and state keys).'),
  data_dir: z.string().min(1).default('.hydrant').describe('Directory for the stream log, state store and spill files; relative to the pipeline file.'),
  lake: lakeConfigSchema,
  state: stateConfigSchema,
  current_state: currentStateConfigSchema,
  streams: z.record(componentName, streamConfigSchema).default({}).describe('Streams by name.'),
  sources: entries.default({}).describe('Sources by name: `type`, `stream`, optional `transforms`, and the kind\'s own keys.'),
  transforms: entries.default({}).describe('Transforms by name: `type` and the kind\'s own keys; used by sources and deliveries.'),
  deliveries: entries.default({}).describe('Deliveries by name: `type`, `stream`, optional `transforms`, and the kind\'s own keys.'),
});

export type StateConfig = z.output<typeof stateConfigSchema>;
export type StreamConfig = z.output<typeof streamConfigSchema>;
