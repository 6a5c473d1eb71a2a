/**
 * Resume after SIGKILL mid-table, end to end: `hydrant run` loads a table inside the exported
 * snapshot while it is written to, and kills itself (a crash point, SIGKILL) in the middle of
 * the table. The next run resumes at the first unfinished chunk, reading the rest between
 * watermarks while the writes go on; the rows read again are reported and few (the resume did
 * not restart the table). After `hydrant merge`, the lake's table equals `SELECT *`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAppServer, startWriter, tableLines, testDir, testSeed } from './helpers.ts';
import { hydrant, hydrantAsync, lakeLines, logLines, writePipeline } from './lake-pipeline.ts';

const ROWS = 30_000;
const CHUNK = 2000;

test('SIGKILL mid-table, resume with watermarks under writes: merged table = SELECT *, few rows read again', async (t) => {
  const seed = testSeed('snapshot resume');
  const server = await startAppServer(t);
  const dir = testDir(t, 'hydrant-snapresume-');
  await server.query('create table t (id bigint primary key, v int not null, note text)', [], 'app');
  await server.query(`insert into t select g, g, 'row ' || g from generate_series(1, ${ROWS}) g`, [], 'app');
  const file = writePipeline(dir, server, 'app', { snapshot: 'initial', snapshot_chunk_rows: CHUNK, snapshot_workers: 2, max_batch_events: 1000, snapshot_max_rows_per_second: 20_000 });
  const writer = await startWriter(server, 'app', 't', seed, 1_000_000, ROWS);
  try {
    // Run 1: killed after 16 batches of 1,000 rows (the middle of the table).
    const r1 = await hydrantAsync({ HYDRANT_CRASH_AT: 'snapshot.batch_handed:16' }, 'run', file).done;
    assert.equal(r1.signal, 'SIGKILL', r1.err);
    assert.match(r1.err, /HYDRANT CRASH POINT snapshot\.batch_handed/);
    // Run 2: resumes under writes and stops once caught up.
    const r2 = hydrantAsync({ HYDRANT_LOG_LEVEL: 'info' }, 'run', file, '--until-caught-up');
    // The writer keeps writing through the whole resumed load and stops once the table is
    // complete: --until-caught-up cannot finish while an unthrottled writer outruns nothing
    // (on an idle machine it never leaves the source an empty batch).
    let finished = false;
    void r2.done.then(() => (finished = true));
    while (!finished && !r2.stderr().includes('"snapshot of table complete"')) await new Promise((r) => setTimeout(r, 100));
    const stats = await writer.stop();
    const res2 = await r2.done;
    assert.equal(res2.code, 0, res2.err.slice(-3000));
    const resumed = logLines(res2.err, 'snapshot resumes: rows of unfinished chunks are read again');
    const planned = logLines(res2.err, 'snapshot planned');
    assert.equal(planned.length, 0, 'the resume did not plan the table again');
    const reread = resumed.reduce((a, l) => a + Number(l['rowsReadAgain'] ?? 0), 0);
    const left = resumed.reduce((a, l) => a + Number(l['chunksLeft'] ?? 0), 0);
    const doneBefore = resumed.reduce((a, l) => a + Number(l['chunksDone'] ?? 0), 0);
    const complete = logLines(res2.err, 'snapshot of table complete');
    assert.equal(complete.length, 1, 'the table completed in run 2');
    console.log(`# resume: ${doneBefore} chunks done before the kill, ${left} left, ${reread} rows read again; completion ${JSON.stringify(complete[0])}`);
    // 15,000 rows were durable: the chunks they completed are not read again.
    assert.ok(doneBefore >= 4, `chunks done before the kill are kept (${doneBefore} done, ${left} left)`);
    // Unfinished chunks are those in flight at the kill: at most one per reader.
    assert.ok(reread <= 2 * CHUNK, `rows read again ${reread} <= ${2 * CHUNK}`);
    // Catch up with the last writes, then merge and compare.
    const r3 = hydrant({}, 'run', file, '--until-caught-up');
    assert.equal(r3.code, 0, r3.err);
    const m = hydrant({}, 'merge', file);
    assert.equal(m.code, 0, m.err);
    const expected = await tableLines(server, 'app', 't');
    const actual = lakeLines(file, 't');
    assert.equal(actual.length, expected.length, `seed ${seed}: row count (writer ${JSON.stringify(stats)})`);
    assert.deepEqual(actual, expected, `seed ${seed}`);
  } finally {
    await writer.stop().catch(() => {});
  }
});
