/**
 * A failing table does not stop the others: the role may not read `b` (permission denied), so
 * it cannot be planned or read; it is retried with back-off while `a` loads inside the exported
 * snapshot and the change stream starts, and it loads (between watermarks) once the role gets
 * the grant. `a` loads meanwhile; at the end both tables merge to `SELECT *`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../../src/core/change-event.ts';
import { CurrentState } from '../../../../src/lake/current/current-state.ts';
import { collect, makeSource, testContext } from '../helpers.ts';
import { startAppServer } from './helpers.ts';

test('a table that cannot be read is retried with back-off while the others load', async (t) => {
  const server = await startAppServer(t);
  const tc = testContext('pg');
  t.after(() => tc.cleanup());
  await server.query('create role loader login replication', [], 'app');
  for (const name of ['a', 'b']) {
    await server.query(`create table ${name} (id int primary key, v text)`, [], 'app');
    await server.query(`insert into ${name} select g, '${name}' || g from generate_series(1, 3000) g`, [], 'app');
  }
  await server.query('grant select on a to loader', [], 'app');
  await server.query(`create publication hydrant_pg for table a, b`, [], 'app');
  const source = makeSource({ ...server, user: 'loader' }, 'app', tc.ctx, { user: 'loader', publication_mode: 'table_list', snapshot: 'initial', snapshot_chunk_rows: 1000, snapshot_workers: 1, snapshot_retry_max_ms: 1000, max_batch_events: 500 });
  try {
    await source.start(null);
    const got = await collect(source, tc.ctx.state, (c) => c.events.filter((e) => e.source.table === 'a').length >= 3000);
    assert.equal(got.events.filter((e) => e.source.table === 'b').length, 0, 'b could not be read');
    const warnings = tc.logs.filter((l) => l.includes('"level":"warn"') && l.includes('retried after a back-off'));
    assert.ok(warnings.some((w) => w.includes('"table":"public.b"') && w.includes('retryInMs')), tc.logs.slice(-5).join('\n'));
    // Changes stream although b is not loaded yet.
    await server.query(`update a set v = 'changed' where id = 1`, [], 'app');
    await collect(source, tc.ctx.state, (c) => c.events.some((e) => e.op === 'update'), got);
    await server.query('grant select on b to loader', [], 'app');
    await server.query(`update b set v = 'changed' where id = 2`, [], 'app');
    await collect(source, tc.ctx.state, (c) => c.events.filter((e) => e.source.table === 'b' && e.op === 'snapshot').length >= 2999, got, 400);
    for (const name of ['a', 'b']) {
      const merged = new CurrentState({ table: name, primaryKey: ['id'] });
      merged.apply(got.events.filter((e) => e.source.table === name) as ChangeEvent[]);
      const actual = [...merged.entries()].map(([, r]) => `${String(r['id'])}|${String(r['v'])}`).sort();
      const expected = (await server.query<{ r: string }>(`select id || '|' || v as r from ${name}`, [], 'app')).map((x) => x.r).sort();
      assert.deepEqual(actual, expected, name);
    }
  } finally {
    await source.close();
  }
});
