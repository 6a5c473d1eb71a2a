/**
 * Acknowledgement: the slot's confirmed flush LSN is exactly the end of the last acknowledged
 * transaction (the next one is re-sent, the acknowledged one is not); a batch that ends inside
 * a transaction confirms nothing of it and resumes exactly after its last event; keepalive
 * reply requests are answered; an idle slot advances while another database writes ~1 GB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { formatLsn, parseLsn, parsePosition } from '../../../src/sources/postgres/lsn.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import type { PostgresServer } from '../../support/postgres.ts';
import { collect, makeSource, sharedPostgres, testContext } from './helpers.ts';

let server: PostgresServer;
const freshDb = sharedPostgres({ wal_sender_timeout: '3s', max_wal_size: '256MB', checkpoint_timeout: '30s' }, (s) => {
  server = s;
});

async function slotRow(db: string, slot: string): Promise<{ cf: bigint; rl: bigint; retained: number }> {
  const r = await server.query<{ cf: string; rl: string; retained: string }>(`select confirmed_flush_lsn::text cf, restart_lsn::text rl, (pg_current_wal_lsn() - restart_lsn)::text retained from pg_replication_slots where slot_name = $1`, [slot], db);
  const x = r[0];
  assert.ok(x, `slot ${slot} exists`);
  return { cf: parseLsn(x.cf), rl: parseLsn(x.rl), retained: Number(x.retained) };
}

/** Transactions the slot would send now (peek, consumes nothing): their xids, in order. */
async function pendingXids(db: string, slot: string, publication: string): Promise<string[]> {
  const rows = await server.query<{ data: Buffer }>(`select data from pg_logical_slot_peek_binary_changes($1, null, null, 'proto_version', '1', 'publication_names', $2)`, [slot, publication], db);
  return rows.filter((r) => r.data[0] === 0x42).map((r) => String(r.data.readUInt32BE(17)));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('ack confirms exactly the end of the acknowledged transaction: the next one is re-sent, never skipped', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('exact', state);
  const src = makeSource(server, db, ctx);
  try {
    await server.query('create table t (id int primary key)', [], db);
    await src.start(null);
    await server.query('insert into t values (1)', [], db);
    await server.query('insert into t values (2)', [], db);
    const ac = new AbortController();
    const seen: ChangeEvent[] = [];
    while (seen.length < 2) seen.push(...((await src.next(ac.signal)).events as ChangeEvent[]));
    const [a, b] = seen as [ChangeEvent, ChangeEvent];
    // Acknowledge A only, then stay connected through several status intervals.
    await src.ack(a.source.position.replace(/[0-9a-f]{8}$/, 'ffffffff'));
    await sleep(1500);
    await src.close();
    const slot = await slotRow(db, 'hydrant_exact');
    const aLsn = parsePosition(a.source.position).commitLsn;
    const bLsn = parsePosition(b.source.position).commitLsn;
    assert.ok(slot.cf > aLsn, `confirmed ${formatLsn(slot.cf)} is past A's commit ${formatLsn(aLsn)}`);
    assert.ok(slot.cf <= bLsn, `confirmed ${formatLsn(slot.cf)} is not past B's commit ${formatLsn(bLsn)}`);
    assert.deepEqual(await pendingXids(db, 'hydrant_exact', 'hydrant_exact'), [b.source.txId], 'exactly B is re-sent');
  } finally {
    await src.close();
    cleanup();
  }
});

test('a batch ending inside a transaction confirms none of it and resumes right after its last event', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('midtx', state);
  const src = makeSource(server, db, ctx, { max_batch_events: 2 });
  try {
    await server.query('create table t (id int primary key)', [], db);
    await src.start(null);
    await server.query('insert into t select g from generate_series(1, 5) g', [], db);
    const ac = new AbortController();
    let b = await src.next(ac.signal);
    while (b.events.length === 0) b = await src.next(ac.signal);
    assert.deepEqual(b.events.map((e) => (e as ChangeEvent).key['id']), [1, 2]);
    assert.match(b.position, /\/00000001$/);
    await src.ack(b.position);
    await sleep(1200);
    await src.close();
    const slot = await slotRow(db, 'hydrant_midtx');
    assert.ok(slot.cf <= parsePosition(b.position).commitLsn, 'nothing of the open transaction is confirmed');
    const s2 = makeSource(server, db, ctx, { max_batch_events: 2 });
    await s2.start(b.position);
    const rest = await collect(s2, state, (x) => x.events.length >= 3);
    assert.deepEqual(rest.events.map((e) => e.key['id']), [3, 4, 5]);
    assert.deepEqual(rest.events.map((e) => e.source.position.slice(-8)), ['00000002', '00000003', '00000004']);
    await s2.close();
  } finally {
    await src.close();
    cleanup();
  }
});

test('keepalive reply requests are answered: the connection survives wal_sender_timeout without status updates of its own', async () => {
  const db = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, logs, cleanup } = testContext('keepalive', state);
  const src = makeSource(server, db, ctx, { status_interval_ms: 3_600_000, heartbeat_interval_ms: 0 });
  try {
    await server.query('create table t (id int primary key)', [], db);
    await src.start(null);
    // START_REPLICATION is asynchronous: the walsender marks the slot active a moment later.
    let pid = await server.query<{ pid: number | null }>(`select active_pid pid from pg_replication_slots where slot_name = 'hydrant_keepalive'`);
    for (let i = 0; i < 100 && (pid[0]?.pid ?? null) === null; i++) {
      await sleep(50);
      pid = await server.query<{ pid: number | null }>(`select active_pid pid from pg_replication_slots where slot_name = 'hydrant_keepalive'`);
    }
    assert.notEqual(pid[0]?.pid ?? null, null, 'the slot became active');
    const ac = new AbortController();
    const until = Date.now() + 9000;
    while (Date.now() < until) await src.ack((await src.next(ac.signal)).position);
    await server.query('insert into t values (1)', [], db);
    const c = await collect(src, state, (x) => x.events.length >= 1);
    assert.equal(c.events[0]?.key['id'], 1);
    const pid2 = await server.query<{ pid: number }>(`select active_pid pid from pg_replication_slots where slot_name = 'hydrant_keepalive'`);
    assert.equal(pid2[0]?.pid, pid[0]?.pid, 'same walsender: never timed out');
    assert.ok(!logs.some((l) => l.includes('connection lost')), 'no reconnect was needed');
  } finally {
    await src.close();
    cleanup();
  }
});

test('an idle slot advances while another database writes ~1 GB of WAL: retained WAL stays bounded', async () => {
  const idle = await freshDb();
  const busy = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('idle', state);
  const src = makeSource(server, idle, ctx, { heartbeat_interval_ms: 500 });
  try {
    await server.query('create table t (id int primary key)', [], idle);
    await server.query('create unlogged table scratch_u (id int)', [], busy);
    await server.query('create table big (id bigint, pad text)', [], busy);
    await src.start(null);
    const start = await slotRow(idle, 'hydrant_idle');
    const ac = new AbortController();
    let pumping = true;
    const pump = (async () => {
      while (pumping) await src.ack((await src.next(ac.signal)).position);
    })();
    let maxRetained = 0;
    const startWal = parseLsn((await server.query<{ l: string }>('select pg_current_wal_lsn()::text l'))[0]?.l as string);
    for (let i = 0; i < 20; i++) {
      // ~55 MB of WAL per statement, 20 statements.
      await server.query(`insert into big select g, repeat(md5(g::text), 30) from generate_series(1, 50000) g`, [], busy);
      await server.query('truncate big', [], busy);
      maxRetained = Math.max(maxRetained, (await slotRow(idle, 'hydrant_idle')).retained);
    }
    const endWal = parseLsn((await server.query<{ l: string }>('select pg_current_wal_lsn()::text l'))[0]?.l as string);
    const written = Number(endWal - startWal);
    await server.query('checkpoint');
    let s = await slotRow(idle, 'hydrant_idle');
    for (let i = 0; i < 120 && s.retained > 64 * 1024 * 1024; i++) {
      await sleep(500);
      s = await slotRow(idle, 'hydrant_idle');
    }
    pumping = false;
    await pump;
    console.log(`WAL written ${(written / 2 ** 20).toFixed(0)} MiB; confirmed_flush ${formatLsn(start.cf)} → ${formatLsn(s.cf)}, restart_lsn ${formatLsn(start.rl)} → ${formatLsn(s.rl)}, max retained during writes ${(maxRetained / 2 ** 20).toFixed(0)} MiB, retained after ${(s.retained / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(written > 900 * 2 ** 20, `about 1 GB of WAL written (${written})`);
    assert.ok(s.cf > start.cf + BigInt(written) / 2n, 'confirmed_flush_lsn advanced with the server');
    assert.ok(s.rl > start.rl + BigInt(written) / 2n, 'restart_lsn advanced');
    assert.ok(s.retained < 64 * 1024 * 1024, `retained WAL is bounded (${s.retained} bytes)`);
    assert.ok(maxRetained < written / 2, `retained WAL stayed well below what was written (max ${maxRetained})`);
    const metrics = ctx.metrics.render();
    for (const name of ['hydrant_postgres_slot_lag_bytes', 'hydrant_postgres_slot_retained_bytes', 'hydrant_postgres_slot_wal_status']) assert.match(metrics, new RegExp(`^${name}\\{`, 'm'), name);
    assert.match(metrics, /^hydrant_postgres_slot_wal_status\{source="idle",slot="hydrant_idle",status="reserved"\} 1$/m);
  } finally {
    await src.close();
    cleanup();
  }
});

test('caughtUp means the stream reached the server\'s WAL position, not that nothing arrived for a while', async () => {
  const db = await freshDb();
  const busy = await freshDb();
  const state = new MemoryStateStore();
  const { ctx, cleanup } = testContext('caught', state);
  const src = makeSource(server, db, ctx, { idle_wait_ms: 20 });
  try {
    await server.query('create table t (id int primary key)', [], db);
    await server.query('create table big (id int, pad text)', [], busy);
    await src.start(null);
    await src.close();
    // While the source is stopped: ~300 MB of WAL elsewhere, then one captured row behind it.
    for (let i = 0; i < 6; i++) await server.query(`insert into big select g, repeat(md5(g::text), 30) from generate_series(1, 50000) g`, [], busy);
    await server.query('insert into t values (1)', [], db);
    const s2 = makeSource(server, db, ctx, { idle_wait_ms: 20 });
    await s2.start(null);
    const ac = new AbortController();
    const got: unknown[] = [];
    for (;;) {
      const b = await s2.next(ac.signal);
      got.push(...b.events.map((e) => (e as ChangeEvent).key['id']));
      await s2.ack(b.position);
      if (b.caughtUp && b.events.length === 0) break;
    }
    assert.deepEqual(got, [1], 'the row behind the backlog arrived before caughtUp was reported');
    await s2.close();
  } finally {
    await src.close();
    cleanup();
  }
});
