import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { bucketOf, bucketSql, keySql, keyString } from '../../../src/lake/current/row-key.ts';
import { rng, testSeed } from './workload.ts';

test('key strings and buckets computed in SQL equal those computed in JavaScript (seeded keys)', async (t) => {
  const seed = testSeed('row-key parity');
  const rand = rng(seed);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.after(() => {
    conn.closeSync();
    db.closeSync();
  });
  const chars = ['a', 'Z', '0', ' ', "'", '"', '|', ':', 'é', '中', '😀', '\n'];
  const rows: Array<{ a: bigint; b: string; c: number }> = [];
  for (let i = 0; i < 300; i++) {
    const big = BigInt(Math.floor((rand() - 0.5) * 2 ** 53)) * (rand() < 0.3 ? 1000n : 1n);
    const a = big > 9223372036854775807n ? 9223372036854775807n : big < -9223372036854775808n ? -9223372036854775808n : big;
    rows.push({ a, b: Array.from({ length: Math.floor(rand() * 8) }, () => chars[Math.floor(rand() * chars.length)]).join(''), c: Math.floor((rand() - 0.5) * 2 ** 31) });
  }
  await conn.run('CREATE TABLE k (a BIGINT, b VARCHAR, c INTEGER, i INTEGER)');
  const app = await conn.createAppender('k');
  rows.forEach((r, i) => {
    app.appendBigInt(r.a);
    app.appendVarchar(r.b);
    app.appendInteger(r.c);
    app.appendInteger(i);
    app.endRow();
  });
  app.closeSync();
  const key = keySql([{ expr: 'a', kind: 'int64' }, { expr: 'b', kind: 'string' }, { expr: 'c', kind: 'int32' }]);
  const res = await conn.runAndReadAll(`SELECT i, ${key}, ${bucketSql(key, 16)}, ${bucketSql(key, 7)} FROM k ORDER BY i`);
  for (const [i, k, b16, b7] of res.getRows() as Array<[number, string, number, number]>) {
    const r = rows[i] as { a: bigint; b: string; c: number };
    const js = keyString({ a: r.a, b: r.b, c: r.c }, ['a', 'b', 'c'], 't');
    assert.equal(k, js, `row ${i}`);
    assert.equal(b16, bucketOf(js, 16));
    assert.equal(b7, bucketOf(js, 7));
  }
  // An integer is one key whether it arrives as a number or a bigint.
  assert.equal(keyString({ a: 5 }, ['a'], 't'), keyString({ a: 5n }, ['a'], 't'));
  assert.notEqual(keyString({ a: 5 }, ['a'], 't'), keyString({ a: '5' }, ['a'], 't'));
  assert.notEqual(keyString({ a: 5.5 }, ['a'], 't'), keyString({ a: '5.5' }, ['a'], 't'));
});
