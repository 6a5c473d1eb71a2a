/**
 * Change-stream scenarios against a real PostgreSQL 15: TOAST-unchanged updates, DDL and new
 * tables mid-stream, large transactions streamed with protocol 2 (spilled, with a rolled-back
 * subtransaction and a concurrent small transaction), rolled-back large transactions.
 * `logical_decoding_work_mem` is at its minimum so that modest transactions stream.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import type { PostgresServer } from '../../support/postgres.ts';
import { assertPositionsStrict, collect, makeSource, sharedPostgres, testContext } from './helpers.ts';
import { prng } from '../../support/prng.ts';

const seed = Number(process.env['TEST_SEED'] ?? Math.floor(Math.random() * 1e6));
let server: PostgresServer;

before(() => {
  console.log(`scenarios seed ${seed} (TEST_SEED=${seed} to repeat)`);
});
const freshDb = sharedPostgres({ logical_decoding_work_mem: '64kB' }, (s) => {
  server = s;
});

function randomText(rnd: () => number, len: number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éß€';
  let s = '';
  for (let i = 0; i < len; i++) s += chars[Math.floor(rnd() * chars.length)];
  return s;
}

test('TOAST: updates that leave a large value unchanged list it in `unchanged`, never null', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('toast', state);
  const src = makeSource(server, db, ctx);
  const rnd = prng(seed);
  try {
    await server.query('create table docs (id int primary key, body text, n int); create table docs_full (id int primary key, body text, n int); alter table docs_full replica identity full', [], db);
    await src.start(null);
    const bodies = [0, 1, 2].map(() => randomText(rnd, 100_000 + Math.floor(rnd() * 100_000)));
    for (let i = 0; i < 3; i++) {
      await server.query('insert into docs values ($1, $2, 0)', [i, bodies[i]], db);
      await server.query('insert into docs_full values ($1, $2, 0)', [i, bodies[i]], db);
    }
    await server.query('update docs set n = n + 1', [], db);
    await server.query('update docs_full set n = n + 1', [], db);
    const newBody = randomText(rnd, 120_000);
    await server.query('update docs set body = $1 where id = 1', [newBody], db);
    const c = await collect(src, state, (x) => x.events.length >= 13);
    const docs = c.events.filter((e) => e.source.table === 'docs');
    for (let i = 0; i < 3; i++) assert.equal(docs[i]?.after?.['body'], bodies[i], `insert ${i} carries the body`);
    for (const e of docs.slice(3, 6)) {
      assert.equal(e.op, 'update');
      assert.deepEqual(e.unchanged, ['body']);
      assert.equal('body' in (e.after ?? {}), false, 'unchanged value is absent, not null');
      assert.equal(e.after?.['n'], 1);
    }
    assert.equal(docs[6]?.after?.['body'], newBody);
    assert.equal(docs[6]?.unchanged, undefined);
    const full = c.events.filter((e) => e.source.table === 'docs_full' && e.op === 'update');
    assert.equal(full.length, 3);
    for (const e of full) {
      assert.equal(e.unchanged, undefined, 'replica identity full: the old row fills the value in');
      assert.equal(e.after?.['body'], bodies[Number(e.key['id'])]);
      assert.equal(e.before?.['n'], 0);
    }
  } finally {
    await src.close();
    cleanup();
  }
});

test('DDL mid-stream: added, retyped and dropped columns give new schema versions without stopping', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('ddl', state);
  const src = makeSource(server, db, ctx);
  try {
    await server.query('create table evolve (id int primary key, a int)', [], db);
    await src.start(null);
    await server.query(`insert into evolve values (1, 1)`, [], db);
    await server.query(`alter table evolve add column b text; insert into evolve values (2, 2, 'two')`, [], db);
    await server.query(`alter table evolve alter column a type bigint; insert into evolve values (3, 3, 'three')`, [], db);
    await server.query(`alter table evolve drop column b; insert into evolve values (4, 4)`, [], db);
    const c = await collect(src, state, (x) => x.events.length >= 4);
    assert.deepEqual(c.events.map((e) => e.schemaVersion), [1, 2, 3, 4]);
    assert.deepEqual(c.events.map((e) => e.after), [{ id: 1, a: 1 }, { id: 2, a: 2, b: 'two' }, { id: 3, a: 3n, b: 'three' }, { id: 4, a: 4n }]);
    assert.deepEqual(c.schemas.map((s) => [s.version, s.columns.map((col) => `${col.name}:${col.type.kind}`).join(',')]), [
      [1, 'id:int32,a:int32'],
      [2, 'id:int32,a:int32,b:string'],
      [3, 'id:int32,a:int64,b:string'],
      [4, 'id:int32,a:int64'],
    ]);
    // A restarted source finds the recorded version and does not bump it again.
    await src.close();
    const src2 = makeSource(server, db, ctx);
    await src2.start(c.position);
    await server.query(`insert into evolve values (5, 5)`, [], db);
    const d = await collect(src2, state, (x) => x.events.length >= 1);
    assert.equal(d.events[0]?.schemaVersion, 4);
    assert.equal(d.schemas.length, 0);
    await src2.close();
  } finally {
    await src.close();
    cleanup();
  }
});

test('new tables mid-stream: FOR ALL TABLES captures from the first row; table_list mode adds them', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('newtab', state);
  const src = makeSource(server, db, ctx);
  const { ctx: ctx2, logs, cleanup: cleanup2 } = testContext('listed', state);
  const src2 = makeSource(server, db, ctx2, { publication_mode: 'table_list' });
  try {
    await server.query('create table old_t (id int primary key)', [], db);
    await src.start(null);
    await src2.start(null);
    await server.query(`begin; create table new_t (id int primary key, v text); insert into new_t values (1, 'first'); commit`, [], db);
    const c = await collect(src, state, (x) => x.events.length >= 1);
    assert.equal(c.events[0]?.source.table, 'new_t');
    assert.deepEqual(c.events[0]?.after, { id: 1, v: 'first' });
    // table_list: the periodic check adds new_t to the publication; later rows are captured.
    const pubs = await server.query<{ n: number }>(`select count(*)::int n from pg_publication_tables where pubname = 'hydrant_listed'`, [], db);
    assert.equal(pubs[0]?.n, 1);
    const drain = new AbortController();
    for (let i = 0; i < 100 && !logs.some((l) => l.includes('added new matching tables')); i++) {
      const b = await src2.next(drain.signal);
      await src2.ack(b.position);
    }
    assert.ok(logs.some((l) => l.includes('added new matching tables') && l.includes('public.new_t')));
    await server.query(`insert into new_t values (2, 'second')`, [], db);
    const d = await collect(src2, state, (x) => x.events.length >= 1);
    assert.deepEqual(d.events[0]?.after, { id: 2, v: 'second' });
  } finally {
    await src.close();
    await src2.close();
    cleanup();
    cleanup2();
  }
});

test('protocol 2: a large transaction streams, spills to disk, drops its rolled-back subtransaction, and commits in order', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, dataDir, cleanup } = testContext('big', state);
  const src = makeSource(server, db, ctx, { max_batch_events: 1000 });
  const big = new pg.Client(server.connection(db));
  try {
    await server.query('create table big (id int primary key, pad text)', [], db);
    await src.start(null);
    await big.connect();
    await big.query('begin');
    await big.query(`insert into big select g, repeat('x', 100) from generate_series(1, 10000) g`);
    await big.query('savepoint s1');
    await big.query(`insert into big select g, 'rolled back' from generate_series(20001, 21000) g`);
    await big.query('rollback to savepoint s1');
    await big.query(`insert into big select g, repeat('y', 100) from generate_series(10001, 20000) g`);
    await server.query(`insert into big values (0, 'small, committed first')`, [], db);
    await big.query('commit');
    const c = await collect(src, state, (x) => x.events.length >= 20001);
    assert.equal(c.events.length, 20001);
    assert.equal(c.events[0]?.key['id'], 0, 'the small transaction committed first');
    const ids = c.events.slice(1).map((e) => Number(e.key['id']));
    assert.deepEqual(ids, Array.from({ length: 20000 }, (_, i) => i + 1));
    assertPositionsStrict(c.events);
    assert.ok(ctx.metrics.get('hydrant_postgres_spilled_changes_total', { source: 'big' }) >= 20000, 'the big transaction was spilled');
    assert.equal(new Set(c.events.slice(1).map((e) => e.source.txId)).size, 1);
    await big.query('begin');
    await big.query(`insert into big select g, repeat('z', 100) from generate_series(30001, 50000) g`);
    await big.query('rollback');
    await server.query(`insert into big values (-1, 'after the rollback')`, [], db);
    const d = await collect(src, state, (x) => x.events.length >= 1);
    assert.deepEqual(d.events.map((e: ChangeEvent) => e.key['id']), [-1], 'no row of the rolled-back transaction');
    assert.deepEqual(readdirSync(join(dataDir, 'postgres', 'big', 'spill')), [], 'spill files are removed after replay or rollback');
  } finally {
    await big.end().catch(() => {});
    await src.close();
    cleanup();
  }
});

test('protocol 1: a large transaction arrives whole and in batches', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('p1', state);
  const src = makeSource(server, db, ctx, { protocol: 1, max_batch_events: 777 });
  try {
    await server.query('create table t1 (id int primary key)', [], db);
    await src.start(null);
    await server.query(`insert into t1 select g from generate_series(1, 5000) g`, [], db);
    const c = await collect(src, state, (x) => x.events.length >= 5000);
    assert.deepEqual(c.events.map((e) => e.key['id']), Array.from({ length: 5000 }, (_, i) => i + 1));
    assert.equal(ctx.metrics.get('hydrant_postgres_spilled_changes_total', { source: 'p1' }), 0);
  } finally {
    await src.close();
    cleanup();
  }
});

test('a dropped replication connection reconnects and resumes without loss or duplicates', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, logs, cleanup } = testContext('reconn', state);
  const src = makeSource(server, db, ctx, { max_batch_events: 100 });
  try {
    await server.query('create table r (id int primary key)', [], db);
    await src.start(null);
    await server.query('insert into r select g from generate_series(1, 1000) g', [], db);
    const c = await collect(src, state, (x) => x.events.length >= 250);
    await server.query(`select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = 'hydrant_reconn'`, [], db);
    await server.query('insert into r select g from generate_series(1001, 1500) g', [], db);
    await collect(src, state, (x) => x.events.length >= 1500, c);
    assert.deepEqual(c.events.map((e) => e.key['id']), Array.from({ length: 1500 }, (_, i) => i + 1));
    assertPositionsStrict(c.events);
    assert.ok(logs.some((l) => l.includes('replication connection lost')), 'the loss was noticed');
  } finally {
    await src.close();
    cleanup();
  }
});

test('a lost catalog connection reopens on next use (type lookups after DDL keep working)', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, logs, cleanup } = testContext('catalog', state);
  const src = makeSource(server, db, ctx);
  try {
    await server.query('create table c (id int primary key)', [], db);
    await src.start(null);
    await server.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'hydrant catalog' and backend_type = 'client backend'`, [], db);
    await server.query(`create type color as enum ('red', 'blue'); alter table c add column col color; insert into c values (1, 'blue')`, [], db);
    const c = await collect(src, state, (x) => x.events.length >= 1);
    assert.deepEqual(c.events[0]?.after, { id: 1, col: 'blue' });
    assert.deepEqual(c.schemas.at(-1)?.columns.find((x) => x.name === 'col')?.type, { kind: 'enum', values: ['red', 'blue'] });
    assert.ok(logs.some((l) => l.includes('catalog connection lost')), 'the loss was noticed');
  } finally {
    await src.close();
    cleanup();
  }
});

test('a stored position whose slot is gone stops the source with SLOT_LOST and the re-snapshot command', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('lost', state);
  const src = makeSource(server, db, ctx);
  try {
    await assert.rejects(src.start('0000000001000000/ffffffff'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SLOT_LOST');
      assert.match(err.message, /hydrant drop-slot FILE/);
      return true;
    });
  } finally {
    await src.close();
    cleanup();
  }
});

test('a non-superuser role with REPLICATION captures through a table-list publication', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, logs, cleanup } = testContext('plain', state);
  await server.query(`do $$ begin if not exists (select 1 from pg_roles where rolname = 'capture') then create role capture login replication; end if; end $$`);
  await server.query(`grant create on database ${db} to capture`);
  await server.query(`grant create on schema public to capture`, [], db);
  await server.query(`set role capture; create table owned (id int primary key, v text); reset role`, [], db);
  const src = makeSource(server, db, ctx, { user: 'capture', heartbeat_interval_ms: 300 });
  try {
    await src.start(null);
    const pub = await server.query<{ puballtables: boolean }>(`select puballtables from pg_publication where pubname = 'hydrant_plain'`, [], db);
    assert.equal(pub[0]?.puballtables, false, 'not FOR ALL TABLES without superuser');
    await server.query(`insert into owned values (1, 'a')`, [], db);
    const c = await collect(src, state, (x) => x.events.length >= 1);
    assert.deepEqual(c.events[0]?.after, { id: 1, v: 'a' });
    assert.ok(logs.some((l) => l.includes('publication_privilege')), 'the preflight warned about the table-list mode');
    // Idle for a few heartbeat intervals: they must work for this role too.
    const ac = new AbortController();
    for (let i = 0; i < 6; i++) await src.ack((await src.next(ac.signal)).position);
    assert.ok(!logs.some((l) => l.includes('heartbeat failed')), `heartbeats work for this role: ${logs.filter((l) => l.includes('heartbeat')).join('\n')}`);
  } finally {
    await src.close();
    cleanup();
  }
});

test('DDL inside streamed transactions: committed schema applies after commit, an aborted one never does', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('sddl', state);
  const src = makeSource(server, db, ctx, { max_batch_events: 1000 });
  try {
    await server.query('create table s (id int primary key, a int)', [], db);
    await src.start(null);
    await server.query('insert into s values (0, 0)', [], db);
    await server.query(`begin; alter table s add column b text; insert into s select g, g, 'b' || g from generate_series(1, 3000) g; rollback`, [], db);
    await server.query('insert into s values (-1, -1)', [], db);
    await server.query(`begin; alter table s add column c text; insert into s select g, g, repeat('c', 50) from generate_series(10001, 13000) g; commit`, [], db);
    await server.query(`insert into s values (-2, -2, 'after')`, [], db);
    const c = await collect(src, state, (x) => x.events.length >= 3003);
    assert.deepEqual(c.events.slice(0, 2).map((e) => e.after), [{ id: 0, a: 0 }, { id: -1, a: -1 }]);
    assert.deepEqual(c.events[2]?.after, { id: 10001, a: 10001, c: 'c'.repeat(50) });
    assert.deepEqual(c.events[3002]?.after, { id: -2, a: -2, c: 'after' });
    assert.ok(ctx.metrics.get('hydrant_postgres_spilled_changes_total', { source: 'sddl' }) >= 3000, 'the transactions were streamed');
  } finally {
    await src.close();
    cleanup();
  }
});

test('a slot invalidated by max_slot_wal_keep_size stops the source loudly with the re-snapshot command', async () => {
  const db = await freshDb();
  const busy = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('inval', state);
  const src = makeSource(server, db, ctx, { heartbeat_interval_ms: 0, slot_check_interval_ms: 200 });
  await server.query(`alter system set max_slot_wal_keep_size = '32MB'`);
  await server.query('select pg_reload_conf()');
  try {
    await server.query('create table t (id int primary key)', [], db);
    await server.query('create table big (id int, pad text)', [], busy);
    await src.start(null);
    await server.query('insert into t values (1)', [], db);
    const ac = new AbortController();
    let b = await src.next(ac.signal);
    while (b.events.length === 0) b = await src.next(ac.signal);
    // Never acknowledged: the slot holds WAL until max_slot_wal_keep_size invalidates it.
    for (let i = 0; i < 4; i++) {
      await server.query(`insert into big select g, repeat(md5(g::text), 20) from generate_series(1, 40000) g`, [], busy);
      await server.query('checkpoint');
    }
    let err: (Error & { code?: string }) | undefined;
    for (let i = 0; i < 200 && err === undefined; i++) {
      try {
        await src.next(ac.signal);
      } catch (e) {
        err = e as Error & { code?: string };
      }
    }
    assert.ok(err !== undefined, 'the source stopped');
    assert.equal(err.code, 'SLOT_LOST', err.message);
    assert.match(err.message, /hydrant drop-slot FILE/);
  } finally {
    await server.query(`alter system reset max_slot_wal_keep_size`);
    await server.query('select pg_reload_conf()');
    await src.close();
    cleanup();
  }
});

test('TOAST with `toast: fetch`: unchanged large values are read back from the table', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('toastfetch', state);
  const src = makeSource(server, db, ctx, { toast: 'fetch' });
  const rnd = prng(seed + 1);
  try {
    await server.query('create table docs (id bigint primary key, body text, n int); create table docs2 (k text, j int, body text, primary key (k, j))', [], db);
    await src.start(null);
    const bodies = [0, 1, 2].map(() => randomText(rnd, 100_000 + Math.floor(rnd() * 50_000)));
    for (let i = 0; i < 3; i++) {
      await server.query('insert into docs values ($1, $2, 0)', [i, bodies[i]], db);
      await server.query('insert into docs2 values ($1, $2, $3)', [`k'${i}`, i, bodies[i]], db);
    }
    await server.query('update docs set n = n + 1', [], db);
    await server.query('update docs2 set j = j where true', [], db);
    await server.query('delete from docs where id = 2', [], db);
    const c = await collect(src, state, (x) => x.events.length >= 13);
    const updates = c.events.filter((e) => e.op === 'update');
    assert.equal(updates.length, 6);
    for (const e of updates) {
      const id = Number(e.source.table === 'docs' ? e.key['id'] : e.key['j']);
      if (e.source.table === 'docs' && id === 2) {
        // Deleted before the fetch ran: the marker stays, the value is never made up.
        assert.deepEqual(e.unchanged, ['body']);
        assert.equal('body' in (e.after ?? {}), false);
      } else {
        assert.equal(e.unchanged, undefined, `${e.source.table} ${id} filled`);
        assert.equal(e.after?.['body'], bodies[id]);
      }
    }
  } finally {
    await src.close();
    cleanup();
  }
});
