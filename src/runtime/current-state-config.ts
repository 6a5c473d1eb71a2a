/**
 * The pipeline file's `current_state:` section: whether `hydrant run` keeps the lake's
 * current-state tables merged while it runs (docs/current-state.md), and how. Merging inside
 * the run is the only way to merge while the pipeline runs, because `hydrant merge` needs the
 * data directory's state store, which the running pipeline holds (single writer).
 *
 * ```yaml
 * current_state:
 *   enabled: true
 *   interval: 60s
 * ```
 */
import { z } from 'zod';
import { byteSize, duration } from '../config/units.ts';

/** Schema of `current_state:` (durations in ms, sizes in bytes once parsed). */
export const currentStateConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Merge the lake delivery\'s change objects into current-state tables while the pipeline runs (and once more at the end of `--until-caught-up`).'),
    interval: duration({ min: 100 }).prefault('60s').describe('Time between the end of one merge round and the start of the next.'),
    buckets: z.number().int().min(1).max(4096).default(16).describe('Key-hash buckets of tables this run creates (existing tables keep theirs); a merge rewrites only the buckets its changes touch.'),
    grace: duration().prefault('10m').describe('How long replaced current-state files (and replaced change objects) stay readable for queries that started on the older version.'),
    memory_limit: byteSize({ min: 64 * 2 ** 20 }).prefault('1GiB').describe('Memory limit of the merge\'s DuckDB; beyond it DuckDB spills to `<data_dir>/tmp/merge`.'),
  })
  .prefault({})
  .describe('Current-state tables: the change history merged, in source-position order, into the table as it is now (queried by its plain name).');

/** The parsed `current_state:` section. */
export type CurrentStateConfig = z.output<typeof currentStateConfigSchema>;
