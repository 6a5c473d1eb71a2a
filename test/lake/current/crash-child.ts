/**
 * Child process of the merge crash tests: regenerates a seeded workload, and merges its batches
 * into a current-state table in `<dir>` (embedded state store + local lake), resuming after the
 * batch recorded as the manifest's checkpoint. `HYDRANT_CRASH_AT` kills it at a crash point.
 * Usage: node --import tsx crash-child.ts DIR SEED BATCHES BATCH_SIZE GRACE_MS
 *    or: node --import tsx crash-child.ts DIR job   (one merge of the lake's change objects by the merge job)
 */
import { join } from 'node:path';
import { loadSchema } from '../../../src/core/schema.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { MergeEngine } from '../../../src/lake/current/merge-engine.ts';
import { loadManifest } from '../../../src/lake/current/manifest.ts';
import { MergeJob } from '../../../src/lake/current/merge-job.ts';
import { putSchema } from './fixture.ts';
import { crashBatches, workloadSchema as schema } from './workload.ts';

const [dir, seedArg, batchesArg, sizeArg, graceArg] = process.argv.slice(2) as [string, string, string, string, string];
const table = { source: schema.source, schema: schema.schema, table: schema.table };
const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
await putSchema(state, schema);
const lake = new FsObjectStore(join(dir, 'lake'));
const engine = await MergeEngine.open({ state, lake, tmpDir: join(dir, 'tmp'), buckets: 8, graceMs: seedArg === 'job' ? 0 : Number(graceArg) });
if (seedArg === 'job') {
  await new MergeJob({ state, lake, engine, tmpDir: join(dir, 'tmp') }).mergeAll();
  await engine.close();
  await state.close();
  process.exit(0);
}
const done = ((await loadManifest(state, table))?.checkpoint as number | null | undefined) ?? -1;
const batches = crashBatches(Number(seedArg), Number(batchesArg), Number(sizeArg));
for (let i = done + 1; i < batches.length; i++) {
  await engine.merge({ table, events: batches[i]!.events, checkpoint: i, schema: (v) => loadSchema(state, table, v) });
}
await engine.close();
await state.close();
process.stdout.write(`merged through batch ${batches.length - 1}\n`);
