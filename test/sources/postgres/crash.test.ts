/**
 * Crash safety: a child process captures a running mixed workload (small transactions and
 * large streamed ones) and is SIGKILLed at named crash points and at seeded random moments,
 * then restarted from its last durable position. At the end, what it made durable must equal,
 * exactly once and in order, what an independent `test_decoding` slot created at the same
 * moment reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runNode, type ChildExit } from '../../support/child-process.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { prng } from '../../support/prng.ts';

const seed = Number(process.env['TEST_SEED'] ?? Math.floor(Math.random() * 1e6));
const CHILD = join(import.meta.dirname, 'fixtures', 'capture-child.ts');
const NAMED = ['postgres.batch_ready:3', 'postgres.before_confirm:2', 'postgres.after_confirm:4', 'postgres.stream_commit:1', 'test.torn_write:2', 'test.after_durable:5'];
const RANDOM_KILLS = 10;

/** Runs the child once; kills it `killAfterMs` after it says it started, when given. */
function runChild(env: Record<string, string>, killAfterMs: number | undefined, timeoutMs: number): Promise<ChildExit> {
  return runNode(['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    ...(killAfterMs === undefined ? {} : { killAfterMs }),
    killTimerFrom: (stream, chunk) => stream === 'stdout' && chunk.includes('started'),
    timeoutMs,
  });
}

/** The mixed workload: small transactions on `w`, now and then a large one on `bulk`. */
async function workload(server: PostgresServer, db: string, rnd: () => number, stop: () => boolean): Promise<number> {
  const c = new pg.Client(server.connection(db));
  await c.connect();
  const live = new Set<number>();
  let txs = 0;
  let bulkId = 0;
  try {
    while (!stop()) {
      txs++;
      if (txs % 25 === 0) {
        await c.query(`insert into bulk select g, repeat('b', 80) from generate_series(${bulkId + 1}, ${bulkId + 2000}) g`);
        bulkId += 2000;
        continue;
      }
      await c.query('begin');
      const saved = new Set(live);
      const n = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) {
        const id = 1 + Math.floor(rnd() * 300);
        if (!live.has(id)) {
          await c.query('insert into w values ($1, $2, $3)', [id, txs, 'p'.repeat(Math.floor(rnd() * 200))]);
          live.add(id);
        } else if (rnd() < 0.7) await c.query('update w set v = $2 where id = $1', [id, txs]);
        else {
          await c.query('delete from w where id = $1', [id]);
          live.delete(id);
        }
      }
      if (rnd() < 0.1) {
        await c.query('rollback');
        live.clear();
        for (const id of saved) live.add(id);
        continue;
      }
      await c.query('commit');
      await new Promise((r) => setTimeout(r, 2 + Math.floor(rnd() * 8)));
    }
    await c.query(`insert into done values (1)`);
  } finally {
    await c.end();
  }
  return txs;
}

/** Parses test_decoding's change lines into `xid:table:op:id`. */
function referenceChanges(rows: Array<{ data: string }>): string[] {
  const out: string[] = [];
  let xid = '';
  for (const { data } of rows) {
    const b = /^BEGIN (\d+)/.exec(data);
    if (b !== null) {
      xid = b[1] as string;
      continue;
    }
    const m = /^table public\.(\w+): (INSERT|UPDATE|DELETE): id\[integer\]:(-?\d+)/.exec(data);
    if (m !== null) out.push(`${xid}:${m[1]}:${(m[2] as string).toLowerCase()}:${m[3]}`);
  }
  return out;
}

test(`postgres source: SIGKILL at named crash points and ${RANDOM_KILLS} seeded random moments loses and duplicates nothing (seed ${seed})`, async () => {
  console.log(`crash test seed ${seed} (TEST_SEED=${seed} to repeat)`);
  const rnd = prng(seed);
  const server = await startPostgres({ settings: { logical_decoding_work_mem: '64kB' } });
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pgcrash-'));
  const db = 'crashdb';
  try {
    await server.query(`create database ${db}`);
    await server.query(`create table w (id int primary key, v int, pad text); create table bulk (id int primary key, pad text); create table done (id int primary key)`, [], db);
    await server.query(`create publication hydrant_crash for all tables`, [], db);
    await server.query(`select pg_create_logical_replication_slot('hydrant_crash', 'pgoutput')`, [], db);
    await server.query(`select pg_create_logical_replication_slot('reference', 'test_decoding')`, [], db);
    const env = { OUT: join(dir, 'out.jsonl'), DATA_DIR: join(dir, 'data'), PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGDATABASE: db };
    let stopWorkload = false;
    let workError: unknown;
    const work = workload(server, db, rnd, () => stopWorkload || workError !== undefined).catch((err: unknown) => {
      workError = err;
      return 0;
    });
    for (const point of NAMED) {
      const r = await runChild({ ...env, HYDRANT_CRASH_AT: point }, undefined, 30_000);
      const name = point.split(':')[0] as string;
      assert.ok(r.stderr.includes(`HYDRANT CRASH POINT ${name}`), `crash point ${point} was reached (exit ${r.code} ${r.signal}): ${r.stderr.slice(-500)}`);
      assert.equal(r.signal, 'SIGKILL');
    }
    for (let i = 0; i < RANDOM_KILLS; i++) {
      const delay = 100 + Math.floor(rnd() * 1500);
      const r = await runChild(env, delay, 30_000);
      assert.equal(r.signal, 'SIGKILL', `random kill ${i} after ${delay} ms: ${r.stderr.slice(-500)}`);
    }
    stopWorkload = true;
    const txs = await work;
    assert.equal(workError, undefined);
    const final = await runChild(env, undefined, 120_000);
    assert.equal(final.code, 0, `final run finishes: ${final.stderr.slice(-1000)}`);

    const lines = readFileSync(env.OUT, 'utf8').split('\n').filter((l) => l !== '');
    const events = lines.flatMap((l) => (JSON.parse(l) as { events: Array<[string, string, string, string, number | null]> }).events);
    for (let i = 1; i < events.length; i++) assert.ok((events[i - 1]?.[0] ?? '') < (events[i]?.[0] ?? ''), `positions strictly increase at ${i}`);
    const ref = referenceChanges(await server.query<{ data: string }>(`select data from pg_logical_slot_get_changes('reference', null, null, 'skip-empty-xacts', '1')`, [], db));
    const got = events.map(([, xid, table, op, id]) => `${xid}:${table}:${op}:${id}`);
    console.log(`workload ${txs} transactions, ${ref.length} changes, ${lines.length} durable batches`);
    assert.equal(got.length, ref.length, 'same number of changes as the reference slot');
    assert.deepEqual(got, ref);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
