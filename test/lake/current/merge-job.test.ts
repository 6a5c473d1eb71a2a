import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { DateValue, Decimal, Timestamp, type Row } from '../../../src/core/values.ts';
import { MergeJob } from '../../../src/lake/current/merge-job.ts';
import { oldKeyOf } from '../../../src/delivery/lake/rows.ts';
import { loadManifest } from '../../../src/lake/current/manifest.ts';
import { readCurrentRows } from '../../../src/lake/current/current-reader.ts';
import { MergeError } from '../../../src/lake/current/errors.ts';
import { canonRows } from './compare.ts';
import { openFixture, putSchema } from './fixture.ts';
import { LakePipeline } from './lake-pipeline.ts';
import { rng, testSeed, Workload, workloadSchema as schema } from './workload.ts';

const table = { source: schema.source, schema: schema.schema, table: schema.table };

for (const [format, sql] of [['parquet', true], ['parquet', false], ['jsonl', true]] as const) {
  const path = format === 'jsonl' ? 'event path' : sql ? 'SQL path' : 'event path';
  test(`through the lake delivery (${format} change objects, 3 shards, ${path}): after every merge the table equals the source`, async (t) => {
    const seed = testSeed(`merge job via lake delivery (${format}, ${path})`);
    const rand = rng(seed);
    const state = new MemoryStateStore();
    await putSchema(state, schema);
    const fx = await openFixture(state, { buckets: 8 });
    const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 3, format });
    t.after(async () => {
      await pipe.close();
      await fx.close();
    });
    const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir, sql });
    // Whole-row changes only, so every merge can take the SQL path (the next test covers the rest).
    const w = new Workload({ seed, toast: false, keyChangeAsUpdate: false, truncateRate: 0.002, resnapshotRate: 0.002 });
    let merges = 0;
    for (let i = 0; i < 25; i++) {
      await pipe.deliver(w.next(1 + Math.floor(rand() * 200)));
      if (rand() < 0.3) continue; // several deliveries per merge, sometimes
      const [report] = await job.mergeAll();
      assert.ok(report !== undefined);
      if (report.result?.committed) assert.equal(report.result.path, path === 'SQL path' ? 'sql' : 'events', `merged on the ${path}`);
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

for (const format of ['parquet', 'jsonl'] as const) {
  test(`through the lake delivery (${format}): TOAST-unchanged columns (_unchanged) and key-changing updates (_old_key) merge like the source`, async (t) => {
    const seed = testSeed(`merge job via lake delivery, unchanged + old key (${format})`);
    const rand = rng(seed);
    const state = new MemoryStateStore();
    await putSchema(state, schema);
    const fx = await openFixture(state, { buckets: 8 });
    const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 3, format });
    t.after(async () => {
      await pipe.close();
      await fx.close();
    });
    const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir, sql: true });
    const w = new Workload({ seed, toast: true, keyChangeAsUpdate: true, truncateRate: 0.002, resnapshotRate: 0.002 });
    let partial = 0;
    let moves = 0;
    for (let i = 0; i < 20; i++) {
      const events = w.next(1 + Math.floor(rand() * 200));
      partial += events.filter((e) => (e.unchanged?.length ?? 0) > 0).length;
      moves += events.filter((e) => oldKeyOf(e) !== null).length;
      await pipe.deliver(events);
      if (rand() < 0.3) continue;
      await job.mergeAll();
      const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
      assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema), `seed ${seed}, round ${i}`);
    }
    assert.ok(partial > 0 && moves > 0, `the workload sent TOAST-unchanged columns (${partial}) and key-changing updates (${moves})`);
  });
}

for (const format of ['parquet', 'jsonl'] as const) test(`a late change object (${format}: older changes than the table shows) rebuilds the table from history`, async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state, { buckets: 4 });
  const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 1, format });
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

test('values Parquet cannot hold natively (NaN decimals, infinite dates and timestamps) survive both merge paths', async (t) => {
  const special = {
    source: 'sp', database: 'd', schema: 'public', table: 'vals', version: 1, primaryKey: ['k'],
    columns: [
      { name: 'k', type: { kind: 'uuid' as const }, nullable: false },
      { name: 'amount', type: { kind: 'decimal' as const, precision: 10, scale: 2 }, nullable: true },
      { name: 'free', type: { kind: 'decimal' as const }, nullable: true },
      { name: 'd', type: { kind: 'date' as const }, nullable: true },
      { name: 'ts', type: { kind: 'timestamptz' as const }, nullable: true },
      { name: 'f', type: { kind: 'float32' as const }, nullable: true },
    ],
  };
  const ref = { source: 'sp', schema: 'public', table: 'vals' };
  const rows: Row[] = [
    { k: '00000000-0000-0000-0000-000000000001', amount: new Decimal('NaN'), free: new Decimal('-Infinity'), d: new DateValue('infinity'), ts: new Timestamp('-infinity', true), f: 1.5 },
    { k: '00000000-0000-0000-0000-000000000002', amount: new Decimal('-12.50'), free: new Decimal('1234567890123456789012345678901234567890.5'), d: new DateValue(-719162), ts: new Timestamp(1n, true), f: -0 },
    { k: '00000000-0000-0000-0000-000000000003', amount: null, free: null, d: null, ts: null, f: NaN },
  ];
  const events: ChangeEvent[] = rows.map((r, i) => ({
    op: 'insert', source: { kind: 'test', name: 'sp', database: 'd', schema: 'public', table: 'vals', position: String(i + 1).padStart(8, '0'), commitTime: Timestamp.fromMillis(1_700_000_000_000) },
    key: { k: r['k'] ?? null }, before: null, after: r, schemaVersion: 1,
  }));
  for (const sql of [true, false]) {
    const state = new MemoryStateStore();
    await putSchema(state, special);
    const fx = await openFixture(state);
    const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 1, format: 'parquet' });
    try {
      await pipe.deliver(events);
      const [r] = await new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir, sql }).mergeAll();
      assert.equal(r?.result?.path, sql ? 'sql' : 'events');
      const back = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table: ref, schema: special });
      assert.deepEqual(canonRows(back, special), canonRows(rows, special), sql ? 'SQL path' : 'event path');
    } finally {
      await pipe.close();
      await fx.close();
    }
  }
});

test('a table without a primary key is skipped with the reason; the other tables are merged', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const logs = { source: 'gen', database: 'app', schema: 'public', table: 'logs', version: 1, primaryKey: [] as string[], columns: [{ name: 'line', type: { kind: 'string' as const }, nullable: true }] };
  await putSchema(state, logs);
  const fx = await openFixture(state);
  const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 1, format: 'parquet' });
  t.after(async () => {
    await pipe.close();
    await fx.close();
  });
  const w = new Workload({ seed: 8, toast: false, keyChangeAsUpdate: false, truncateRate: 0, resnapshotRate: 0 });
  const logEvent: ChangeEvent = { op: 'insert', source: { kind: 'test', name: 'gen', database: 'app', schema: 'public', table: 'logs', position: '0', commitTime: Timestamp.fromMillis(1_700_000_000_000) }, key: {}, before: null, after: { line: 'hello' }, schemaVersion: 1 };
  await pipe.deliver([logEvent, ...w.next(50)]);
  const reports = await new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir }).mergeAll();
  const byTable = new Map(reports.map((r) => [r.table, r]));
  assert.match(byTable.get('gen.public.logs')?.problem ?? '', /^skipped: the table has no primary key/);
  assert.equal(byTable.get('gen.public.accounts')?.result?.committed, true);
  const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
  assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema));
});
