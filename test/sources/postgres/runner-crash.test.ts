/**
 * Crash safety end to end: `hydrant run` (PostgreSQL → embedded stream → lake) is SIGKILLed at
 * source crash points and at seeded random moments while a workload runs, then finished with
 * `--until-caught-up`. The lake must hold every change exactly once, in the order an
 * independent `test_decoding` slot reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { HYDRANT_BIN, runNode, type ChildExit } from '../../support/child-process.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { prng } from '../../support/prng.ts';
import { writePipeline } from './snapshot/lake-pipeline.ts';

const seed = Number(process.env['TEST_SEED'] ?? Math.floor(Math.random() * 1e6));

function run(file: string, env: Record<string, string>, killAfterMs: number | undefined, untilCaughtUp: boolean): Promise<ChildExit> {
  return runNode([HYDRANT_BIN, 'run', file, ...(untilCaughtUp ? ['--until-caught-up'] : [])], {
    env: { ...process.env, HYDRANT_LOG_LEVEL: 'warn', ...env },
    ...(killAfterMs === undefined ? {} : { killAfterMs }),
    timeoutMs: 120_000,
  });
}

async function workload(server: PostgresServer, db: string, rnd: () => number, stop: () => boolean): Promise<void> {
  const c = new pg.Client(server.connection(db));
  await c.connect();
  let next = 1;
  let bulk = 0;
  try {
    for (let tx = 1; !stop(); tx++) {
      if (tx % 30 === 0) {
        await c.query(`insert into bulk select g from generate_series(${bulk + 1}, ${bulk + 1500}) g`);
        bulk += 1500;
        continue;
      }
      await c.query('begin');
      for (let i = 1 + Math.floor(rnd() * 5); i > 0; i--) {
        const r = rnd();
        if (r < 0.6 || next < 10) await c.query('insert into w values ($1, $2)', [next++, tx]);
        else if (r < 0.85) await c.query('update w set v = $2 where id = $1', [1 + Math.floor(rnd() * (next - 1)), tx]);
        else await c.query('delete from w where id = $1', [1 + Math.floor(rnd() * (next - 1))]);
      }
      await c.query(rnd() < 0.1 ? 'rollback' : 'commit');
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await c.end();
  }
}

test(`hydrant run: SIGKILL at source crash points and seeded random moments, the lake holds every change exactly once (seed ${seed})`, async () => {
  console.log(`runner crash test seed ${seed} (TEST_SEED=${seed} to repeat)`);
  const rnd = prng(seed);
  const server = await startPostgres({ settings: { logical_decoding_work_mem: '64kB' } });
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pgrun-'));
  const db = 'app';
  try {
    await server.query(`create database ${db}`);
    await server.query('create table w (id int primary key, v int); create table bulk (id int primary key)', [], db);
    await server.query('create publication hydrant_pg for all tables', [], db);
    await server.query(`select pg_create_logical_replication_slot('hydrant_pg', 'pgoutput')`, [], db);
    await server.query(`select pg_create_logical_replication_slot('reference', 'test_decoding')`, [], db);
    const file = writePipeline(dir, server, db, { idle_wait_ms: 100, max_batch_events: 300 }, { name: 'pgrun', delivery: { format: 'jsonl', buffer_interval_s: 1 } });
    let stop = false;
    let workError: unknown;
    const work = workload(server, db, rnd, () => stop || workError !== undefined).catch((err: unknown) => {
      workError = err;
    });
    for (const point of ['postgres.before_confirm:3', 'postgres.after_confirm:5', 'postgres.batch_ready:8', 'postgres.stream_commit:1']) {
      const r = await run(file, { HYDRANT_CRASH_AT: point }, 60_000, false);
      assert.ok(r.stderr.includes(`HYDRANT CRASH POINT ${point.split(':')[0]}`), `crash point ${point} reached: ${r.stderr.slice(-800)}`);
    }
    for (let i = 0; i < 6; i++) {
      const delay = 1500 + Math.floor(rnd() * 3000);
      const r = await run(file, {}, delay, false);
      assert.equal(r.signal, 'SIGKILL', `random kill ${i} after ${delay} ms: ${r.stderr.slice(-800)}`);
    }
    stop = true;
    await work;
    assert.equal(workError, undefined);
    const final = await run(file, {}, undefined, true);
    assert.equal(final.code, 0, final.stderr.slice(-2000));

    const ref: string[] = [];
    for (const { data } of await server.query<{ data: string }>(`select data from pg_logical_slot_get_changes('reference', null, null, 'skip-empty-xacts', '1')`, [], db)) {
      const m = /^table public\.(\w+): (INSERT|UPDATE|DELETE): id\[integer\]:(-?\d+)/.exec(data);
      if (m !== null) ref.push(`${m[1]}:${(m[2] as string).toLowerCase()}:${m[3]}`);
    }
    const q = spawnSync(process.execPath, [HYDRANT_BIN, 'query', file, `select _position p, 'w' t, _op op, id from pg.public.w_changes union all select _position, 'bulk', _op, id from pg.public.bulk_changes order by p`, '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(q.status, 0, q.stderr);
    const rows = q.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { p: string; t: string; op: string; id: number });
    const positions = new Set(rows.map((r) => r.p));
    console.log(`${ref.length} reference changes, ${rows.length} lake rows`);
    assert.equal(positions.size, rows.length, 'no position twice in the lake');
    assert.deepEqual(rows.map((r) => `${r.t}:${r.op}:${r.id}`), ref);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
