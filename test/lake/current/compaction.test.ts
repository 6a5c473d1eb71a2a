import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { envelopeToJson, type ChangeEvent } from '../../../src/core/change-event.ts';
import { loadSchema } from '../../../src/core/schema.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import type { StateStore } from '../../../src/state/state-store.ts';
import type { ObjectStore } from '../../../src/lake/object-store.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { COMPACTION_CRASH_POINTS, compactChangeObjects } from '../../../src/lake/current/compaction.ts';
import { changeEntries, MergeJob } from '../../../src/lake/current/merge-job.ts';
import { readChangeObject } from '../../../src/lake/current/change-objects.ts';
import { readCurrentRows } from '../../../src/lake/current/current-reader.ts';
import { canonRows } from './compare.ts';
import { openFixture, putSchema } from './fixture.ts';
import { LakePipeline } from './lake-pipeline.ts';
import { testSeed, Workload, workloadSchema as schema } from './workload.ts';

const table = { source: schema.source, schema: schema.schema, table: schema.table };

/** Every change in the catalog's objects, as canonical text sorted by position: the history readers see. */
async function history(state: StateStore, lake: ObjectStore, conn: DuckDBConnection, tmpDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await changeEntries(state)) {
    const s = (await loadSchema(state, table, e.object.schemaVersion))!;
    for (const ev of await readChangeObject(e.object, { lake, conn, tmpDir, table, schema: s })) out.push(`${ev.source.position} ${envelopeToJson(ev)}`);
  }
  return out.sort();
}

for (const format of ['parquet', 'jsonl'] as const) {
  test(`compaction (${format}): fewer, larger objects, the same history, and merges stay exact`, async (t) => {
    const seed = testSeed(`compaction ${format}`);
    const state = new MemoryStateStore();
    await putSchema(state, schema);
    const fx = await openFixture(state, { buckets: 4, graceMs: 60_000 });
    const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 2, format });
    t.after(async () => {
      await pipe.close();
      await fx.close();
    });
    const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir });
    const w = new Workload({ seed, toast: false, keyChangeAsUpdate: false, truncateRate: 0, resnapshotRate: 0 });
    for (let i = 0; i < 12; i++) await pipe.deliver(w.next(40));
    await job.mergeAll();
    for (let i = 0; i < 6; i++) await pipe.deliver(w.next(40)); // not merged yet
    const conn = fx.engine.connection;
    const before = await history(state, fx.lake, conn, fx.dir);
    const objectsBefore = (await changeEntries(state)).length;
    const oldKeys = (await changeEntries(state)).map((e) => e.object.key);
    const report = await compactChangeObjects({ state, lake: fx.lake, conn, tmpDir: fx.dir }, { targetBytes: 1 << 20, graceMs: 60_000, now: () => fx.clock });
    assert.ok(report.compacted >= 2 && report.replaced > report.compacted, JSON.stringify(report));
    const after = await changeEntries(state);
    assert.ok(after.length < objectsBefore, `${after.length} < ${objectsBefore}`);
    assert.deepEqual(await history(state, fx.lake, conn, fx.dir), before, 'the catalog shows the same changes');
    // Replaced objects stay for readers during the grace period, then go.
    for (const k of oldKeys) assert.ok(await fx.lake.head(k), `${k} still there during the grace period`);
    fx.clock += 61_000;
    const later = await compactChangeObjects({ state, lake: fx.lake, conn, tmpDir: fx.dir }, { targetBytes: 1 << 20, graceMs: 60_000, now: () => fx.clock });
    assert.ok(later.deleted >= report.replaced);
    const listed = (await fx.lake.list('databases/')).map((o) => o.key).filter((k) => k.includes('/changes/')).sort();
    assert.deepEqual(listed, (await changeEntries(state)).map((e) => e.object.key).sort(), 'the lake lists exactly the catalog');
    // Compacted objects mixing merged and unmerged changes: the next merge is still exact.
    await job.mergeAll();
    let rows = await readCurrentRows({ state, lake: fx.lake, conn, tmpDir: fx.dir, table, schema });
    assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema));
    // After a merge, compacting merged objects does not make the job re-read them.
    for (let i = 0; i < 4; i++) await pipe.deliver(w.next(40));
    await job.mergeAll();
    await compactChangeObjects({ state, lake: fx.lake, conn, tmpDir: fx.dir }, { targetBytes: 1 << 20, graceMs: 60_000, now: () => fx.clock });
    const idle = await job.mergeTable(table);
    assert.equal(idle.objects, 0, 'compacted objects of merged objects count as merged');
    await pipe.deliver(w.next(40));
    await job.mergeAll();
    rows = await readCurrentRows({ state, lake: fx.lake, conn, tmpDir: fx.dir, table, schema });
    assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema));
  });
}

for (const point of COMPACTION_CRASH_POINTS) {
  test(`SIGKILL during compaction at ${point}: the catalog shows the old or the new objects, never a mix; the next run completes`, async (t) => {
    const seed = testSeed(`compaction crash at ${point}`);
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-compact-crash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'tmp'));
    const w = new Workload({ seed, toast: false, keyChangeAsUpdate: false, truncateRate: 0, resnapshotRate: 0 });
    {
      const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
      await putSchema(state, schema);
      const pipe = await LakePipeline.open({ state, lake: new FsObjectStore(join(dir, 'lake')), dataDir: dir, shards: 1, format: 'parquet' });
      for (let i = 0; i < 10; i++) await pipe.deliver(w.next(30));
      await pipe.close();
      await state.close();
    }
    const look = async () => {
      const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
      const lake = new FsObjectStore(join(dir, 'lake'));
      const db = await DuckDBInstance.create(':memory:');
      const conn = await db.connect();
      try {
        const entries = await changeEntries(state);
        for (const e of entries) assert.ok(await lake.head(e.object.key), `cataloged object ${e.object.key} exists`);
        return { objects: entries.length, history: await history(state, lake, conn, join(dir, 'tmp')), intent: await state.get('current/_compaction/intent') };
      } finally {
        conn.closeSync();
        db.closeSync();
        await state.close();
      }
    };
    const start = await look();
    const env = { ...process.env, HYDRANT_CRASH_AT: point };
    const crashed = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'compaction-child.ts'), dir, String(1 << 20)], { env, encoding: 'utf8' });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr.slice(-2000));
    assert.match(crashed.stderr, /HYDRANT CRASH POINT current\.compact\./);
    const mid = await look();
    assert.deepEqual(mid.history, start.history, 'same changes visible after the kill');
    assert.equal(mid.objects, point === 'current.compact.files-written' ? start.objects : 1);
    const done = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'compaction-child.ts'), dir, String(1 << 20)], { env: { ...process.env, HYDRANT_CRASH_AT: '' }, encoding: 'utf8' });
    assert.equal(done.status, 0, done.stderr.slice(-2000));
    const end = await look();
    assert.equal(end.objects, 1);
    assert.equal(end.intent, undefined);
    assert.deepEqual(end.history, start.history);
    // No leftovers: the lake lists exactly the catalog's objects (grace 0 in the child).
    const lake = new FsObjectStore(join(dir, 'lake'));
    const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
    try {
      assert.deepEqual((await lake.list('databases/')).map((o) => o.key).sort(), (await changeEntries(state)).map((e) => e.object.key).sort());
      // And the merge of the compacted history equals the source.
      const fx = await openFixture(state, { dir });
      try {
        await new MergeJob({ state, lake, engine: fx.engine, tmpDir: join(dir, 'tmp') }).mergeAll();
        assert.deepEqual(canonRows(await readCurrentRows({ state, lake, conn: fx.engine.connection, tmpDir: join(dir, 'tmp'), table, schema }), schema), canonRows(w.truth.values(), schema));
      } finally {
        await fx.close();
      }
    } finally {
      await state.close();
    }
  });
}
