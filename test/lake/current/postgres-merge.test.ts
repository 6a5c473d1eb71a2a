/**
 * PostgreSQL end to end: a seeded random workload (inserts, updates, deletes, primary-key
 * changes, truncates, several statements per transaction) on a private server, captured with
 * `hydrant run --until-caught-up` into the lake, merged with `hydrant merge`, and read back with
 * `hydrant query` under the plain table name. After every merge the current-state table must
 * equal `SELECT * FROM` the source table, row for row.
 *
 * Values stay below PostgreSQL's TOAST threshold; TOAST-unchanged values have their own test
 * (postgres-toast.test.ts).
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

test('PostgreSQL randomized workload → lake → hydrant merge: after every merge the table equals the source', async (t) => {
  const seed = testSeed('postgres merge');
  const rand = rng(seed);
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pgmerge-'));
  t.after(async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await pg.query('create database app');
  await pg.query('create table accounts (id bigint primary key, tenant int not null, amount numeric(20,4), note text, active boolean, seen timestamptz)', [], 'app');
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, `name: pgmerge
data_dir: ${join(dir, 'data')}
lake: { type: fs, path: ${join(dir, 'lake')} }
streams: { changes: { shards: 3 } }
sources:
  pg: { type: postgres, stream: changes, host: ${pg.host}, port: ${pg.port}, user: ${pg.user}, database: app, idle_wait_ms: 200 }
deliveries:
  lake: { type: lake, stream: changes, buffer_interval_s: 0 }
`);
  const r0 = hydrant('run', file, '--until-caught-up');
  assert.equal(r0.code, 0, r0.err);
  let nextId = 1;
  const ids = new Set<number>();
  const pick = (): number | undefined => {
    const all = [...ids];
    return all.length === 0 ? undefined : all[Math.floor(rand() * all.length)];
  };
  const row = (id: number) => `(${id}, ${1 + Math.floor(rand() * 5)}, ${(rand() * 1e6 - 5e5).toFixed(4)}, ${rand() < 0.1 ? 'null' : `'note ${Math.floor(rand() * 1e9).toString(36)} ''q'''`}, ${rand() < 0.5}, timestamptz '2024-01-01' + interval '${Math.floor(rand() * 1e9)} microseconds')`;
  let truncates = 0;
  let keyChanges = 0;
  for (let round = 0; round < 6; round++) {
    for (let tx = 0; tx < 25; tx++) {
      const stmts: string[] = [];
      for (let s = 0; s < 1 + Math.floor(rand() * 4); s++) {
        const r = rand();
        const id = pick();
        if (r < 0.01 && round > 1) {
          stmts.push('truncate accounts');
          ids.clear();
          truncates++;
        } else if (r < 0.4 || id === undefined) {
          const n = 1 + Math.floor(rand() * 5);
          const rows = Array.from({ length: n }, () => nextId++);
          for (const x of rows) ids.add(x);
          stmts.push(`insert into accounts values ${rows.map(row).join(', ')}`);
        } else if (r < 0.75) {
          stmts.push(`update accounts set amount = ${(rand() * 1e4).toFixed(4)}, note = ${rand() < 0.2 ? 'null' : `'u${Math.floor(rand() * 1e6)}'`}, active = ${rand() < 0.5} where id = ${id}`);
        } else if (r < 0.85) {
          const to = nextId++;
          stmts.push(`update accounts set id = ${to}, tenant = tenant + 1 where id = ${id}`);
          ids.delete(id);
          ids.add(to);
          keyChanges++;
        } else {
          stmts.push(`delete from accounts where id = ${id}`);
          ids.delete(id);
        }
      }
      await pg.query(`begin; ${stmts.join('; ')}; commit`, [], 'app');
    }
    const run = hydrant('run', file, '--until-caught-up');
    assert.equal(run.code, 0, run.err);
    const merge = hydrant('merge', file);
    assert.equal(merge.code, 0, merge.err);
    assert.match(merge.out, /pg\.public\.accounts: (version|up to date)/);
    const expected = (await pg.query<{ r: string }>(`select concat_ws('|', id, tenant, amount, coalesce(note, '∅'), active::text, (extract(epoch from seen) * 1000000)::bigint) r from accounts order by 1`, [], 'app')).map((x) => x.r).sort();
    const q = hydrant('query', file, `select concat_ws('|', id, tenant, amount, coalesce(note, '∅'), active, epoch_us(seen)) r from pg.public.accounts`, '--format', 'json');
    assert.equal(q.code, 0, q.err);
    const actual = q.out.split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { r: string }).r).sort();
    assert.equal(actual.length, expected.length, `seed ${seed}, round ${round}: row count`);
    assert.deepEqual(actual, expected, `seed ${seed}, round ${round}`);
  }
  assert.ok(keyChanges > 0, 'the workload changed primary keys');
  console.log(`# ${truncates} truncates, ${keyChanges} key changes, ${ids.size} rows at the end`);
});
