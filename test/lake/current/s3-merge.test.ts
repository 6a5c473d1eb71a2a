/**
 * The same merges against an S3 lake (a private s3rver): bucket files and change objects are
 * fetched to local copies for DuckDB and uploaded back, compaction included. After every merge
 * the table equals the source on both merge paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { MergeEngine } from '../../../src/lake/current/merge-engine.ts';
import { MergeJob } from '../../../src/lake/current/merge-job.ts';
import { compactChangeObjects } from '../../../src/lake/current/compaction.ts';
import { readCurrentRows } from '../../../src/lake/current/current-reader.ts';
import { loadManifest } from '../../../src/lake/current/manifest.ts';
import { startS3 } from '../../support/s3.ts';
import { canonRows } from './compare.ts';
import { putSchema } from './fixture.ts';
import { LakePipeline } from './lake-pipeline.ts';
import { rng, testSeed, Workload, workloadSchema as schema } from './workload.ts';

const table = { source: schema.source, schema: schema.schema, table: schema.table };

test('current-state tables on an S3 lake (s3rver): SQL and event paths, compaction, cleanup', async (t) => {
  const seed = testSeed('merge on s3');
  const rand = rng(seed);
  const s3 = await startS3();
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-s3merge-'));
  t.after(async () => {
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const lake = s3.store('lake');
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const tmpDir = join(dir, 'tmp');
  let clock = 1_800_000_000_000;
  const engine = await MergeEngine.open({ state, lake, tmpDir, buckets: 4, graceMs: 1000, now: () => clock });
  const pipe = await LakePipeline.open({ state, lake, dataDir: dir, shards: 2, format: 'parquet' });
  t.after(async () => {
    await pipe.close();
    await engine.close();
  });
  const w = new Workload({ seed, toast: false, keyChangeAsUpdate: false, truncateRate: 0.003, resnapshotRate: 0.003 });
  for (let i = 0; i < 8; i++) {
    await pipe.deliver(w.next(20 + Math.floor(rand() * 80)));
    if (i === 5) await compactChangeObjects({ state, lake, conn: engine.connection, tmpDir }, { targetBytes: 1 << 20, graceMs: 1000, now: () => clock });
    const job = new MergeJob({ state, lake, engine, tmpDir, sql: i % 2 === 0 });
    await job.mergeAll();
    clock += 2000;
    const rows = await readCurrentRows({ state, lake, conn: engine.connection, tmpDir, table, schema });
    assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema), `seed ${seed}, round ${i}`);
  }
  // Replaced files past the grace period are gone from the bucket; downloaded copies too.
  await engine.cleanup(table);
  const live = new Set((await loadManifest(state, table))!.files.map((f) => f.key));
  const current = (await lake.list(`databases/${table.source}/${table.schema}/${table.table}/current/data/`)).map((o) => o.key);
  assert.deepEqual(current.sort(), [...live].sort());
  assert.deepEqual(readdirSync(tmpDir).filter((f) => f.endsWith('.parquet')), [], 'no local copies left behind');
});
