/**
 * `snapshot: only`: the tables are loaded once (inside a snapshot exported by a REPEATABLE READ
 * transaction, no replication slot), the source then reports caught up; a restart after the
 * load reads nothing again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertPositionsStrict, collect, makeSource, testContext } from '../helpers.ts';
import { startAppServer } from './helpers.ts';

test('snapshot: only loads every table once, without a slot', async (t) => {
  const server = await startAppServer(t);
  const tc = testContext('pg');
  t.after(() => tc.cleanup());
  await server.query('create table a (id int primary key, v text)', [], 'app');
  await server.query('create table nokey (v int, w text)', [], 'app');
  await server.query(`insert into a select g, 'a' || g from generate_series(1, 2500) g`, [], 'app');
  await server.query(`insert into nokey select g, 'n' || g from generate_series(1, 1200) g`, [], 'app');
  const extra = { snapshot: 'only', snapshot_chunk_rows: 500, max_batch_events: 700 };
  const source = makeSource(server, 'app', tc.ctx, extra);
  await source.start(null);
  const ac = new AbortController();
  const got = await collect(source, tc.ctx.state, (c) => c.events.length >= 3700);
  let b = await source.next(ac.signal);
  for (let i = 0; i < 50 && !b.caughtUp; i++) {
    assert.equal(b.events.length, 0);
    await source.ack(b.position);
    b = await source.next(ac.signal);
  }
  assert.equal(b.events.length, 0);
  assert.equal(b.caughtUp, true);
  await source.ack(b.position);
  await source.close();
  assertPositionsStrict(got.events);
  assert.ok(got.events.every((e) => e.op === 'snapshot'));
  assert.deepEqual(got.events.filter((e) => e.source.table === 'a').map((e) => e.after?.['id']).sort((x, y) => Number(x) - Number(y)), Array.from({ length: 2500 }, (_, i) => i + 1));
  assert.deepEqual(got.events.filter((e) => e.source.table === 'nokey').map((e) => e.after?.['v']).sort((x, y) => Number(x) - Number(y)), Array.from({ length: 1200 }, (_, i) => i + 1));
  assert.equal((await server.query('select * from pg_replication_slots', [], 'app')).length, 0, 'no slot');
  // A restart reads nothing again.
  const again = makeSource(server, 'app', tc.ctx, extra);
  await again.start(got.position);
  const b2 = await again.next(ac.signal);
  assert.equal(b2.events.length, 0);
  assert.equal(b2.caughtUp, true);
  await again.close();
});
