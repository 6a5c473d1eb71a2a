import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { startPostgres } from '../../support/postgres.ts';
import { assertPositionsStrict, collect, makeSource, testContext } from './helpers.ts';

test('postgres source: inserts, updates, deletes, truncate, key change, with transaction metadata', async () => {
  const pg = await startPostgres();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('shop', state);
  const src = makeSource(pg, 'postgres', ctx, { exclude: ['public.skip*'] });
  try {
    await pg.query('create table public.items (id int primary key, name text, qty bigint)');
    await pg.query('create table public.skipme (id int primary key)');
    await src.start(null);
    await pg.query(`begin; insert into items values (1, 'a', 10), (2, 'b', 20); insert into skipme values (1); commit;`);
    await pg.query(`update items set qty = 11 where id = 1`);
    await pg.query(`update items set id = 3 where id = 2`);
    await pg.query(`delete from items where id = 1`);
    await pg.query(`truncate items`);
    const c = await collect(src, state, (x) => x.events.length >= 7);
    const ops = c.events.map((e) => `${e.op}:${e.source.table}:${JSON.stringify(e.key)}`);
    assert.deepEqual(ops, [
      'insert:items:{"id":1}',
      'insert:items:{"id":2}',
      'update:items:{"id":1}',
      'delete:items:{"id":2}',
      'insert:items:{"id":3}',
      'delete:items:{"id":1}',
      'truncate:items:{}',
    ]);
    // Under the default replica identity a delete's `before` is the old key, nothing more.
    assert.deepEqual(c.events.filter((e) => e.op === 'delete').map((e) => e.before), [{ id: 2 }, { id: 1 }]);
    assertPositionsStrict(c.events);
    const first = c.events[0];
    assert.ok(first !== undefined);
    assert.equal(first.source.position.endsWith('/00000000'), true);
    assert.equal(c.events[1]?.source.position.endsWith('/00000001'), true);
    assert.equal(c.events[1]?.source.txId, first.source.txId);
    assert.equal(typeof first.source.txId, 'string');
    assert.ok(Math.abs(first.source.commitTime.toMillis() - Date.now()) < 600_000);
    assert.deepEqual(c.events[2]?.after, { id: 1, name: 'a', qty: 11n });
    assert.equal(c.schemas.length, 1);
    assert.deepEqual(c.schemas.find((s) => s.table === 'items')?.primaryKey, ['id']);
    const slot = await pg.query<{ cf: string }>(`select confirmed_flush_lsn::text cf from pg_replication_slots where slot_name = 'hydrant_shop'`);
    assert.ok(slot[0]?.cf !== '0/0');
  } finally {
    await src.close();
    await pg.stop();
    cleanup();
  }
});

test('postgres source: exclude_columns drops values in the source, never the key', async () => {
  const pg = await startPostgres();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('cols', state);
  const src = makeSource(pg, 'postgres', ctx, { exclude_columns: ['public.users.pass*', 'public.users.id'] });
  try {
    await pg.query('create table public.users (id int primary key, email text, password_hash text)');
    await src.start(null);
    await pg.query(`insert into users values (1, 'a@example.com', 'secret')`);
    await pg.query(`update users set password_hash = 'other' where id = 1`);
    const c = await collect(src, state, (x) => x.events.length >= 2);
    assert.deepEqual(c.events.map((e) => e.after), [{ id: 1, email: 'a@example.com' }, { id: 1, email: 'a@example.com' }]);
    assert.deepEqual(c.schemas[0]?.columns.map((col) => col.name), ['id', 'email']);
    assert.ok(!JSON.stringify(c.events.map((e) => [e.before, e.after, e.key])).includes('secret'));
  } finally {
    await src.close();
    await pg.stop();
    cleanup();
  }
});

test('postgres source: partitioned tables report the root; tables without a key under REPLICA IDENTITY FULL carry whole rows', async () => {
  const pg = await startPostgres();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('parts', state);
  const src = makeSource(pg, 'postgres', ctx, { publication_mode: 'table_list' });
  try {
    await pg.query(`create table measures (id int, at date, v int, primary key (id, at)) partition by range (at);
      create table measures_2024 partition of measures for values from ('2024-01-01') to ('2025-01-01');
      create table measures_2025 partition of measures for values from ('2025-01-01') to ('2026-01-01');
      create table loose (a int, b text); alter table loose replica identity full`);
    await src.start(null);
    await pg.query(`insert into measures values (1, '2024-06-01', 10), (2, '2025-06-01', 20)`);
    await pg.query(`insert into loose values (1, 'x'); update loose set b = 'y'; delete from loose`);
    const c = await collect(src, state, (x) => x.events.length >= 5);
    assert.deepEqual(c.events.slice(0, 2).map((e) => [e.source.table, e.key['id']]), [['measures', 1], ['measures', 2]]);
    const loose = c.events.filter((e) => e.source.table === 'loose');
    assert.deepEqual(loose.map((e) => [e.op, e.key, e.before, e.after]), [
      ['insert', {}, null, { a: 1, b: 'x' }],
      ['update', {}, { a: 1, b: 'x' }, { a: 1, b: 'y' }],
      ['delete', {}, { a: 1, b: 'y' }, null],
    ]);
    assert.deepEqual(c.schemas.find((s) => s.table === 'loose')?.primaryKey, []);
  } finally {
    await src.close();
    await pg.stop();
    cleanup();
  }
});
