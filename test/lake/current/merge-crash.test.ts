/**
 * kill -9 during a merge at each named crash point: afterwards the table is exactly the old or
 * the new version (never a mix of files from both), and the next run completes the merge and
 * leaves no stray files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { loadManifest, manifestKeys } from '../../../src/lake/current/manifest.ts';
import { readCurrentRows } from '../../../src/lake/current/current-reader.ts';
import { MERGE_CRASH_POINTS } from '../../../src/lake/current/merge-engine.ts';
import { canonRows } from './compare.ts';
import { crashBatches, testSeed, Workload, workloadSchema as schema } from './workload.ts';
import { putSchema } from './fixture.ts';
import { LakePipeline } from './lake-pipeline.ts';

const table = { source: schema.source, schema: schema.schema, table: schema.table };
const BATCHES = 6;
const SIZE = 120;

function runChild(dir: string, seed: number, crashAt: string | undefined, graceMs: number) {
  const env = { ...process.env };
  delete env['HYDRANT_CRASH_AT'];
  if (crashAt !== undefined) env['HYDRANT_CRASH_AT'] = crashAt;
  return spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dir, String(seed), String(BATCHES), String(SIZE), String(graceMs)], { env, encoding: 'utf8' });
}

async function inspect(dir: string) {
  const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
  const lake = new FsObjectStore(join(dir, 'lake'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const m = await loadManifest(state, table);
    const rows = canonRows(await readCurrentRows({ state, lake, conn, tmpDir: dir, table, schema }), schema);
    const versions = (await state.list(manifestKeys(table).versions)).map((e) => e.value as unknown as { files: Array<{ key: string }> });
    const referenced = new Set(versions.flatMap((v) => v.files.map((f) => f.key)));
    const stray = (await lake.list('databases/')).map((o) => o.key).filter((k) => !referenced.has(k) && !k.includes('/current/metadata/'));
    const latest = (await lake.head(`databases/${table.source}/${table.schema}/${table.table}/current/metadata/latest.json`)) === undefined ? undefined : (JSON.parse(Buffer.from(await lake.get(`databases/${table.source}/${table.schema}/${table.table}/current/metadata/latest.json`)).toString('utf8')) as { version: number }).version;
    return { checkpoint: (m?.checkpoint ?? -1) as number, rows, stray, version: m?.version, latest };
  } finally {
    conn.closeSync();
    db.closeSync();
    await state.close();
  }
}

for (const point of MERGE_CRASH_POINTS) {
  test(`SIGKILL at ${point}: old or new version, never a mix; the next run completes`, async (t) => {
    const seed = testSeed(`merge crash at ${point}`);
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-merge-crash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const batches = crashBatches(seed, BATCHES, SIZE);
    const crashed = runChild(dir, seed, `${point}:4`, 0);
    assert.equal(crashed.signal, 'SIGKILL', `child died by SIGKILL (stderr: ${crashed.stderr.slice(-2000)})`);
    assert.match(crashed.stderr, new RegExp(`HYDRANT CRASH POINT ${point.replace(/\./g, '\\.')}`));
    const after = await inspect(dir);
    // Batches 0..2 were merged; the 4th merge (batch 3) died at the point.
    const expectCheckpoint = point === 'current.merge.files-written' ? 2 : 3;
    assert.equal(after.checkpoint, expectCheckpoint);
    assert.deepEqual(after.rows, canonRows(batches[expectCheckpoint]!.truth, schema), 'the readable table is exactly one version');
    if (point === 'current.merge.files-written') assert.ok(after.stray.length > 0, 'the dead merge left unreferenced files (it had written them)');
    const resumed = runChild(dir, seed, undefined, 0);
    assert.equal(resumed.status, 0, resumed.stderr.slice(-2000));
    const done = await inspect(dir);
    assert.equal(done.checkpoint, BATCHES - 1);
    assert.deepEqual(done.rows, canonRows(batches[BATCHES - 1]!.truth, schema));
    assert.deepEqual(done.stray, [], 'files of the dead merge were swept');
    assert.equal(done.latest, done.version, 'the lake\'s latest.json names the readable version');
  });
}

for (const point of MERGE_CRASH_POINTS) {
  test(`SIGKILL at ${point} in the merge job (Parquet change objects, SQL path): old or new version; the next run completes`, async (t) => {
    const seed = testSeed(`merge job crash at ${point}`);
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-job-crash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const w = new Workload({ seed, toast: false, keyChangeAsUpdate: false, truncateRate: 0.003, resnapshotRate: 0.003 });
    const truths: string[][] = [];
    const deliver = async () => {
      const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
      await putSchema(state, schema);
      const pipe = await LakePipeline.open({ state, lake: new FsObjectStore(join(dir, 'lake')), dataDir: dir, shards: 2, format: 'parquet' });
      await pipe.deliver(w.next(150));
      await pipe.close();
      await state.close();
      truths.push(canonRows(w.truth.values(), schema));
    };
    const job = (crashAt?: string) => {
      const env = { ...process.env, HYDRANT_CRASH_AT: crashAt ?? '' };
      return spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dir, 'job'], { env, encoding: 'utf8' });
    };
    for (let round = 0; round < 3; round++) {
      await deliver();
      const r = job();
      assert.equal(r.status, 0, r.stderr.slice(-2000));
    }
    await deliver();
    const crashed = job(point);
    assert.equal(crashed.signal, 'SIGKILL', `status ${crashed.status} stdout ${crashed.stdout.slice(-1000)} stderr ${crashed.stderr.slice(-2000)}`);
    assert.match(crashed.stderr, new RegExp(`HYDRANT CRASH POINT ${point.replace(/\./g, '\\.')}`));
    const mid = await inspect(dir);
    assert.deepEqual(mid.rows, point === 'current.merge.files-written' ? truths[2] : truths[3], 'exactly the old or the new version');
    const done = job();
    assert.equal(done.status, 0, done.stderr.slice(-2000));
    await deliver();
    const again = job();
    assert.equal(again.status, 0, again.stderr.slice(-2000));
    const end = await inspect(dir);
    assert.deepEqual(end.rows, truths[4]);
    assert.deepEqual(end.stray.filter((k) => k.includes('/current/')), [], 'no stray current-state files');
  });
}
