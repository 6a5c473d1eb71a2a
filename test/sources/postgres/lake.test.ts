/**
 * End to end through the runner: PostgreSQL → `hydrant run --until-caught-up` → embedded
 * stream → lake delivery (Parquet) → `hydrant query`. Changes land under
 * `databases/<source>/<schema>/<table>/`, values stay exact (int8 beyond 2^53, numeric), and a
 * second run resumes without duplicating anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../../support/postgres.ts';
import { hydrant, writePipeline } from './snapshot/lake-pipeline.ts';

function jsonLines(s: string): unknown[] {
  return s.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

test('postgres → stream → lake: changes land under databases/<source>/<schema>/<table>/, exactly once across runs', async () => {
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pglake-'));
  try {
    await pg.query('create database shop');
    await pg.query('create table orders (id bigint primary key, amount numeric(20,4), note text)', [], 'shop');
    const file = writePipeline(dir, pg, 'shop', {}, { name: 'pglake' });
    // The first run creates the slot: what was written before it is the snapshot's job.
    const r0 = hydrant({}, 'run', file, '--until-caught-up');
    assert.equal(r0.code, 0, r0.err);
    await pg.query(`insert into orders select g, g * 1.5, 'n' || g from generate_series(1, 100) g`, [], 'shop');
    await pg.query(`insert into orders values (9007199254740993, 12345678901234.5678, 'big')`, [], 'shop');
    await pg.query(`update orders set note = 'changed' where id <= 10`, [], 'shop');
    await pg.query(`delete from orders where id > 90 and id <= 100`, [], 'shop');
    const r1 = hydrant({}, 'run', file, '--until-caught-up');
    assert.equal(r1.code, 0, r1.err);
    const files = walk(join(dir, 'lake')).map((f) => f.slice(join(dir, 'lake').length + 1));
    assert.ok(files.some((f) => f.startsWith('databases/pg/public/orders/changes/')), files.join('\n'));
    const q = hydrant({}, 'query', file, `select _op op, count(*)::int n from pg.public.orders_changes group by _op order by _op`, '--format', 'json');
    assert.equal(q.code, 0, q.err);
    assert.deepEqual(jsonLines(q.out), [{ op: 'delete', n: 10 }, { op: 'insert', n: 101 }, { op: 'update', n: 10 }]);
    const big = hydrant({}, 'query', file, `select id::varchar id, amount::varchar amount from pg.public.orders_changes where note = 'big'`, '--format', 'json');
    assert.deepEqual(jsonLines(big.out), [{ id: '9007199254740993', amount: '12345678901234.5678' }]);
    // A run with nothing new adds nothing.
    const r2 = hydrant({}, 'run', file, '--until-caught-up');
    assert.equal(r2.code, 0, r2.err);
    const again = hydrant({}, 'query', file, `select count(*)::int n from pg.public.orders_changes`, '--format', 'json');
    assert.deepEqual(jsonLines(again.out), [{ n: 121 }]);
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
