/**
 * `hydrant resnapshot FILE TABLE` while the pipeline runs and the table is written to: the
 * pipeline started with `snapshot: never`, so the rows written before its slot existed reach
 * the lake only through the re-snapshot (read between watermarks, changes streaming on). After
 * it, the merged table equals `SELECT *`; a second request of the same message is not repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAppServer, startWriter, tableLines, testDir, testSeed } from './helpers.ts';
import { hydrant, hydrantAsync, lakeLines, logLines, writePipeline } from './lake-pipeline.ts';

const ROWS = 20_000;

test('re-snapshot of one table under concurrent writes, no stop: merged table = SELECT *', async (t) => {
  const seed = testSeed('resnapshot');
  const server = await startAppServer(t);
  const dir = testDir(t, 'hydrant-resnap-');
  await server.query('create table t (id bigint primary key, v int not null, note text)', [], 'app');
  await server.query('create table other (id int primary key)', [], 'app');
  await server.query(`insert into t select g, g, 'row ' || g from generate_series(1, ${ROWS}) g`, [], 'app');
  const file = writePipeline(dir, server, 'app', { snapshot: 'never', snapshot_chunk_rows: 1500, max_batch_events: 1000, snapshot_max_rows_per_second: 15_000 });
  // The slot is created now: rows written so far are not in the change stream.
  const r0 = hydrant({}, 'run', file, '--until-caught-up');
  assert.equal(r0.code, 0, r0.err);
  const writer = await startWriter(server, 'app', 't', seed, ROWS + 1, ROWS);
  const run = hydrantAsync({ HYDRANT_LOG_LEVEL: 'info' }, 'run', file);
  try {
    const bad = hydrant({}, 'resnapshot', file, 'public.nope');
    assert.equal(bad.code, 1);
    assert.match(bad.out, /does not capture table public\.nope/);
    const req = hydrant({}, 'resnapshot', file, 'public.t');
    assert.equal(req.code, 0, req.out + req.err);
    assert.match(req.out, /re-snapshot of public\.t requested/);
    // Wait for the re-snapshot to complete while the writer goes on.
    for (let i = 0; i < 600 && logLines(run.stderr(), 'snapshot of table complete').length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const complete = logLines(run.stderr(), 'snapshot of table complete');
    assert.equal(complete.length, 1, run.stderr().slice(-3000));
    const during = writer.count;
    const stats = await writer.stop();
    run.kill('SIGTERM');
    const res = await run.done;
    assert.equal(res.code, 0, res.err.slice(-3000));
    console.log(`# re-snapshot ${JSON.stringify(complete[0])}; writer ${JSON.stringify(stats)} (${during} transactions during the run)`);
    const r2 = hydrant({ HYDRANT_LOG_LEVEL: 'info' }, 'run', file, '--until-caught-up');
    assert.equal(r2.code, 0, r2.err);
    assert.equal(logLines(r2.err, 'snapshot planned').length, 0, 'a request seen again after a restart is not started twice');
    const m = hydrant({}, 'merge', file);
    assert.equal(m.code, 0, m.err);
    const expected = await tableLines(server, 'app', 't');
    const actual = lakeLines(file, 't');
    assert.equal(actual.length, expected.length, `seed ${seed}: row count`);
    assert.deepEqual(actual, expected, `seed ${seed}`);
  } finally {
    await writer.stop().catch(() => {});
    run.kill('SIGKILL');
    await run.done;
  }
});
