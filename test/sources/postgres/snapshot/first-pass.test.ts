/**
 * Backpressure of the load inside the exported snapshot must never wedge a reader. `pg` keeps
 * parsing the buffer it already read after the socket is paused, so a COPY paused on its last
 * rows finishes while its connection is still paused; the reader's next statement (its next
 * chunk, or its COMMIT) then waited forever, the load never ended, and the source never started
 * the change stream (initial-load.test.ts failed with "no more events after ~20,0xx" whenever
 * the readers filled the queue at the end of the load, i.e. on an idle machine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../../src/core/logger.ts';
import { Metrics } from '../../../../src/core/metrics.ts';
import { Timestamp } from '../../../../src/core/values.ts';
import { TableSelection } from '../../../../src/sources/postgres/config.ts';
import { formatPosition } from '../../../../src/sources/postgres/lsn.ts';
import { PG_TYPE_SQL, TypeResolver, type PgTypeRow } from '../../../../src/sources/postgres/type-map.ts';
import { connectReader } from '../../../../src/sources/postgres/snapshot/chunk-reader.ts';
import { copyOut } from '../../../../src/sources/postgres/snapshot/copy-out.ts';
import { exportSnapshot } from '../../../../src/sources/postgres/snapshot/exported-snapshot.ts';
import { FirstPass } from '../../../../src/sources/postgres/snapshot/first-pass.ts';
import { SnapshotProgress } from '../../../../src/sources/postgres/snapshot/progress.ts';
import { TablePlanner } from '../../../../src/sources/postgres/snapshot/table-planner.ts';
import { MemoryStateStore } from '../../../../src/state/memory-state-store.ts';
import { startAppServer } from './helpers.ts';

/** Resolves with `p`'s value, or 'timeout' after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);
}

test('a COPY paused on its last rows leaves its connection usable', async (t) => {
  const server = await startAppServer(t);
  const c = await connectReader({ ...server.connection('app'), applicationName: 'test' }, 'reader');
  try {
    let chunks = 0;
    // Pause on the first row: the other rows and the end of the COPY are already in pg's buffer.
    const copy = copyOut(c, 'copy (select g from generate_series(1, 5) g) to stdout (format binary)', () => {
      if (chunks++ === 0) copy.pause();
    });
    assert.notEqual(await within(copy.done, 10_000), 'timeout', 'the COPY finished');
    assert.ok(chunks > 1, 'data arrived after the pause (the COPY ended paused)');
    const r = await within(c.query('select 1 as x'), 10_000);
    assert.notEqual(r, 'timeout', 'the next statement on the connection is answered');
  } finally {
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }
});

for (const { rows, chunkRows, workers } of [
  { rows: 5, chunkRows: 100, workers: 1 },
  { rows: 3000, chunkRows: 100, workers: 2 },
]) {
  test(`first pass with a full queue: every row comes out and the readers finish (${rows} rows, ${workers} readers)`, async (t) => {
    const server = await startAppServer(t);
    await server.query('create table t (id bigint primary key, v text)', [], 'app');
    await server.query(`insert into t select g, 'row ' || g from generate_series(1, ${rows}) g`, [], 'app');
    const connect = { ...server.connection('app'), applicationName: 'test' };
    const sql = await connectReader(connect, 'catalog');
    const exported = await exportSnapshot(connect);
    const metrics = new Metrics();
    const progress = new SnapshotProgress('pg', metrics, silentLogger);
    let first: FirstPass | undefined;
    try {
      const settings = { snapshot: 'only', snapshot_chunk_rows: chunkRows, snapshot_workers: workers, snapshot_max_rows_per_second: 0, snapshot_retry_max_ms: 1000 } as const;
      const resolver = new TypeResolver(async (oid) => (await sql.query(PG_TYPE_SQL, [oid])).rows[0] as PgTypeRow | undefined, silentLogger);
      const selection = new TableSelection({ include: ['public.*'], exclude: [], exclude_columns: [] });
      const planner = new TablePlanner({ source: 'pg', database: 'app', settings, resolver, selection, state: new MemoryStateStore(), sql, logger: silentLogger, progress, commitTime: Timestamp.fromMillis(Date.now()) });
      const oid = Number((await sql.query(`select 't'::regclass::oid::int as oid`)).rows[0].oid);
      const tasks = await planner.plan(sql, { schema: 'public', table: 't', oid }, 'only', undefined);
      let finished = 0;
      first = new FirstPass({
        connect: () => connectReader(connect, 'snapshot reader'),
        snapshotName: exported.name,
        prefix: formatPosition(exported.positionLsn, 0).slice(0, 17),
        workers,
        tasks,
        retryMaxMs: 1000,
        deferAfter: undefined,
        // One queued row pauses every reader: each COPY ends paused.
        maxQueued: 1,
        logger: silentLogger,
        progress,
        onFinished: () => finished++,
        onDeferred: () => assert.fail('no chunk fails'),
      });
      first.start();
      const ac = new AbortController();
      const ids: number[] = [];
      const deadline = Date.now() + 20_000;
      while (first.active && Date.now() < deadline) {
        const b = await first.take(7, 50, ac.signal);
        for (const e of b.events) ids.push(Number((e.after as Record<string, unknown>)['id']));
      }
      assert.equal(first.active, false, `the readers finished (rows so far ${ids.length} of ${rows}, chunks ${finished} of ${tasks.length})`);
      assert.equal(finished, tasks.length);
      assert.deepEqual(ids.sort((a, b) => a - b), Array.from({ length: rows }, (_, i) => i + 1));
    } finally {
      await first?.close();
      await exported.release();
      await sql.end();
      progress.close();
    }
  });
}
