/**
 * TOAST-unchanged columns through the lake, end to end: PostgreSQL does not send a large
 * (externally stored) value that an UPDATE left alone. The source lists it in `unchanged`, the
 * lake delivery writes `_unchanged`, and `hydrant merge` keeps the old value — so after
 * `hydrant run --until-caught-up` + `hydrant merge` the current-state table still equals
 * `SELECT *` on the source, big values included (also across primary-key changes, which
 * PostgreSQL sends as delete + insert). Seeded: the seed is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../../support/postgres.ts';
import { rng, testSeed } from './workload.ts';

const BIN = join(import.meta.dirname, '../../../bin/hydrant.js');

function hydrant(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, HYDRANT_LOG_LEVEL: 'warn', HYDRANT_CRASH_AT: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function lines(out: string): string[] {
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { r: string }).r).sort();
}

for (const format of ['parquet', 'jsonl'] as const) {
  test(`PostgreSQL >100 kB values left alone by updates survive the lake and the merge (${format})`, async (t) => {
    const seed = testSeed(`postgres toast ${format}`);
    const rand = rng(seed);
    const pg = await startPostgres();
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-pgtoast-'));
    t.after(async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await pg.query('create database app');
    // EXTERNAL storage: stored out of line without compression, so every value here is TOASTed.
    await pg.query('create table docs (id int primary key, title text, n int, big text); alter table docs alter column big set storage external', [], 'app');
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, `name: pgtoast
data_dir: ${join(dir, 'data')}
lake: { type: fs, path: ${join(dir, 'lake')} }
streams: { changes: { shards: 2 } }
sources:
  pg: { type: postgres, stream: changes, host: ${pg.host}, port: ${pg.port}, user: ${pg.user}, database: app, idle_wait_ms: 200 }
deliveries:
  lake: { type: lake, stream: changes, buffer_interval_s: 0, format: ${format} }
`);
    const r0 = hydrant('run', file, '--until-caught-up');
    assert.equal(r0.code, 0, r0.err);
    // A distinct >100 kB value per call (repeat of a seeded word: deterministic, and EXTERNAL keeps it uncompressed).
    const big = (): string => `repeat('${Math.floor(rand() * 1e12).toString(36)} ', ${15_000 + Math.floor(rand() * 5_000)})`;
    const ids = Array.from({ length: 12 }, (_, i) => i + 1);
    const check = async (round: number): Promise<void> => {
      const run = hydrant('run', file, '--until-caught-up');
      assert.equal(run.code, 0, run.err);
      const merge = hydrant('merge', file);
      assert.equal(merge.code, 0, merge.err);
      const expected = (await pg.query<{ r: string }>(`select concat_ws('|', id, coalesce(title, '∅'), coalesce(n::text, '∅'), coalesce(md5(big), '∅'), coalesce(length(big)::text, '∅')) r from docs`, [], 'app')).map((x) => x.r).sort();
      assert.ok(expected.some((r) => Number(r.split('|')[4]) > 100_000), 'the table holds >100 kB values');
      const q = hydrant('query', file, `select concat_ws('|', id, coalesce(title, '∅'), coalesce(n::varchar, '∅'), coalesce(md5(big), '∅'), coalesce(length(big)::varchar, '∅')) r from pg.public.docs`, '--format', 'json');
      assert.equal(q.code, 0, q.err);
      assert.deepEqual(lines(q.out), expected, `seed ${seed}, round ${round}`);
    };
    await pg.query(`insert into docs select i, 'title ' || i, i, ${big()} || i from generate_series(1, ${ids.length}) i`, [], 'app');
    await check(0);
    for (let round = 1; round <= 3; round++) {
      const stmts: string[] = [];
      for (const id of ids) {
        const r = rand();
        if (r < 0.6) stmts.push(`update docs set title = 'r${round} ${Math.floor(rand() * 1e6)}', n = n + 1 where id = ${id}`); // big left alone
        else if (r < 0.75) stmts.push(`update docs set big = ${big()}, n = n + 1 where id = ${id}`);
        else if (r < 0.85) stmts.push(`update docs set n = null where id = ${id}; update docs set title = null where id = ${id}`);
      }
      // A primary-key change that leaves big alone: PostgreSQL sends it as delete + insert, the
      // insert listing big as unchanged; the merge takes it from the row the delete removed.
      const moved = ids.shift() as number;
      ids.push(moved + 1000);
      stmts.push(`update docs set id = ${moved + 1000}, title = 'moved' where id = ${moved}`);
      // A row inserted and then updated without touching big, in one transaction (one change object).
      const fresh = 100 + round;
      stmts.push(`insert into docs values (${fresh}, 'fresh', 0, ${big()})`, `update docs set title = 'fresh, updated' where id = ${fresh}`);
      await pg.query(`begin; ${stmts.join('; ')}; commit`, [], 'app');
      await check(round);
    }
    const partial = hydrant('query', file, `select concat_ws('|', count(*) filter (where _op = 'update'), count(*) filter (where _op = 'insert')) r from pg.public.docs_changes where _unchanged = '["big"]'`, '--format', 'json');
    assert.equal(partial.code, 0, partial.err);
    const [updates, inserts] = (lines(partial.out)[0] ?? '').split('|').map(Number);
    assert.ok((updates ?? 0) > 0, `the history records TOAST-unchanged columns of updates: ${partial.out}`);
    assert.ok((inserts ?? 0) > 0, `and of the insert half of key changes: ${partial.out}`);
    console.log(`# seed ${seed}`);
  });
}
