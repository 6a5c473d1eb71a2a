/**
 * The initial load inside the slot's exported snapshot meets the change stream exactly: a
 * table is written to (inserts, updates, deletes) before, during and after a throttled,
 * parallel, chunked load; merging the snapshot rows and the changes in position order (the
 * lake's current-state rules) gives exactly `SELECT *` of the table. Positions are strictly
 * increasing, every snapshot row sorts before every change, and every chunk is checkpointed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../../src/core/change-event.ts';
import { CurrentState } from '../../../../src/lake/current/current-state.ts';
import { loadTables } from '../../../../src/sources/postgres/snapshot/snapshot-state.ts';
import { assertPositionsStrict, collect, makeSource, testContext } from '../helpers.ts';
import { startAppServer, startWriter, tableLines, testSeed } from './helpers.ts';

test('initial load inside the exported snapshot + concurrent writes = SELECT *', async (t) => {
  const seed = testSeed('initial load');
  const server = await startAppServer(t);
  const tc = testContext('pg');
  t.after(() => tc.cleanup());
  await server.query('create table t (id bigint primary key, v int not null, note text)', [], 'app');
  await server.query(`insert into t select g, g, 'row ' || g from generate_series(1, 20000) g`, [], 'app');
  await server.query('create table done_marker (id int primary key)', [], 'app');
  const writer = await startWriter(server, 'app', 't', seed, 100_000, 20_000);
  const source = makeSource(server, 'app', tc.ctx, { snapshot: 'initial', snapshot_chunk_rows: 1000, snapshot_workers: 2, snapshot_max_rows_per_second: 15_000, max_batch_events: 1000 });
  try {
    await source.start(null);
    const before = writer.count;
    // Collect until the load is done, keep the writer going a bit into the stream, then stop it.
    const got = await collect(source, tc.ctx.state, (c) => c.events.some((e) => e.op !== 'snapshot'));
    assert.ok(writer.count > before, 'the writer wrote during the load');
    await new Promise((r) => setTimeout(r, 300));
    const stats = await writer.stop();
    await server.query('insert into done_marker values (1)', [], 'app');
    await collect(source, tc.ctx.state, (c) => c.events.some((e) => e.source.table === 'done_marker'), got);
    const events = got.events.filter((e) => e.source.table === 't');
    assertPositionsStrict(got.events);
    const snaps = events.filter((e) => e.op === 'snapshot');
    const changes = events.filter((e) => e.op !== 'snapshot');
    assert.ok(snaps.length > 15_000, `snapshot rows ${snaps.length}`);
    assert.ok(changes.length > 0, 'changes after the snapshot');
    const lastSnap = snaps[snaps.length - 1] as ChangeEvent;
    assert.ok(lastSnap.source.position < (changes[0] as ChangeEvent).source.position, 'every snapshot row sorts before every change');
    const merged = new CurrentState({ table: 't', primaryKey: ['id'] });
    merged.apply(events);
    const actual = [...merged.entries()].map(([, r]) => `${String(r['id'])}|${String(r['v'])}|${r['note'] === null ? '∅' : String(r['note'])}`).sort();
    const expected = await tableLines(server, 'app', 't');
    assert.equal(actual.length, expected.length, `seed ${seed}: row count (${JSON.stringify(stats)})`);
    assert.deepEqual(actual, expected, `seed ${seed}`);
    // Snapshot rows and changes share one schema version (built the same way from the catalog).
    assert.deepEqual(got.schemas.filter((x) => x.table === 't').map((x) => x.version), [1]);
    assert.ok(events.every((e) => e.schemaVersion === 1));
    // Every chunk is checkpointed as done.
    const tables = await loadTables(tc.ctx.state, 'pg');
    const plan = tables.find((x) => x.plan.table === 't');
    assert.ok(plan !== undefined);
    assert.equal(plan.chunks.size, plan.plan.chunks.length);
    assert.ok([...plan.chunks.values()].every((c) => c.done));
    const rowsInRecords = [...plan.chunks.values()].reduce((a, c) => a + c.rows, 0);
    assert.equal(rowsInRecords, snaps.length, 'chunk records count every snapshot row');
    assert.ok(tc.ctx.metrics.get('hydrant_snapshot_rows_total', { source: 'pg', table: 'public.t' }) === snaps.length);
    console.log(`# ${snaps.length} snapshot rows in ${plan.plan.chunks.length} chunks, ${changes.length} changes, writer ${JSON.stringify(stats)}`);
  } finally {
    await writer.stop().catch(() => {});
    await source.close();
  }
});
