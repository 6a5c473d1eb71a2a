import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { MergeJob } from '../../../src/lake/current/merge-job.ts';
import { loadManifest } from '../../../src/lake/current/manifest.ts';
import { readCurrentRows } from '../../../src/lake/current/current-reader.ts';
import { MergeError } from '../../../src/lake/current/errors.ts';
import { canonRows } from './compare.ts';
import { openFixture, putSchema } from './fixture.ts';
import { LakePipeline } from './lake-pipeline.ts';
import { rng, testSeed, Workload, workloadSchema as schema } from './workload.ts';

const table = { source: schema.source, schema: schema.schema, table: schema.table };

for (const format of ['parquet', 'jsonl'] as const) {
  test(`through the lake delivery (${format} change objects, 3 shards): after every merge the table equals the source`, async (t) => {
    const seed = testSeed(`merge job via lake delivery (${format})`);
    const rand = rng(seed);
    const state = new MemoryStateStore();
    await putSchema(state, schema);
    const fx = await openFixture(state, { buckets: 8 });
    const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 3, format });
    t.after(async () => {
      await pipe.close();
      await fx.close();
    });
    const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir });
    // Change objects carry the row image, not `unchanged` or the old key of an update, so this
    // workload sends TOAST-free updates and key changes as delete + insert (see docs/current-state.md).
    const w = new Workload({ seed, toast: false, keyChangeAsUpdate: false, truncateRate: 0.002, resnapshotRate: 0.002 });
    let merges = 0;
    for (let i = 0; i < 25; i++) {
      await pipe.deliver(w.next(1 + Math.floor(rand() * 200)));
      if (rand() < 0.3) continue; // several deliveries per merge, sometimes
      const [report] = await job.mergeAll();
      assert.ok(report !== undefined);
      merges++;
      const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
      assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema), `seed ${seed}, round ${i}`);
      // Nothing new: the next merge reads no object and commits nothing.
      const again = await job.mergeTable(table);
      assert.equal(again.objects, 0);
    }
    assert.ok(merges > 5);
    const m = await loadManifest(state, table);
    assert.ok(m !== undefined && m.sourceCommitTime !== null);
  });
}

test('a late change object (older changes than the table shows) rebuilds the table from history', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state, { buckets: 4 });
  const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 1, format: 'jsonl' });
  t.after(async () => {
    await pipe.close();
    await fx.close();
  });
  const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir });
  const w = new Workload({ seed: 42, toast: false, keyChangeAsUpdate: false, truncateRate: 0, resnapshotRate: 0 });
  const early = w.next(100);
  const later = w.next(100);
  await pipe.deliver(later);
  await job.mergeAll();
  await pipe.deliver(early); // arrives after `later` was merged
  const [report] = await job.mergeAll();
  assert.equal(report?.rebuilt, true);
  const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
  assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema));
});

test('hydrant merge of an unknown table names the tables that exist', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state);
  t.after(() => fx.close());
  const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir });
  await assert.rejects(job.mergeAll(['nope']), (e: unknown) => e instanceof MergeError && /no table named nope/.test(e.message));
});
