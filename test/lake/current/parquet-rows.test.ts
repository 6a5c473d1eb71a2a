import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TableSchema } from '../../../src/core/schema.ts';
import { DateValue, Decimal, Interval, JsonText, Timestamp, TimeValue, type Row } from '../../../src/core/values.ts';
import { readRowsParquet, writeRowsParquet } from '../../../src/lake/current/parquet-rows.ts';
import { MergeError } from '../../../src/lake/current/errors.ts';
import { canonRows } from './compare.ts';

const schema: TableSchema = {
  source: 's', database: 'd', schema: 'p', table: 'all_types', version: 1, primaryKey: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'b', type: { kind: 'boolean' }, nullable: true },
    { name: 'i16', type: { kind: 'int16' }, nullable: true },
    { name: 'i32', type: { kind: 'int32' }, nullable: true },
    { name: 'f32', type: { kind: 'float32' }, nullable: true },
    { name: 'f64', type: { kind: 'float64' }, nullable: true },
    { name: 's', type: { kind: 'string' }, nullable: true },
    { name: 'u', type: { kind: 'uuid' }, nullable: true },
    { name: 'j', type: { kind: 'json' }, nullable: true },
    { name: 'dec', type: { kind: 'decimal' }, nullable: true },
    { name: 'd', type: { kind: 'date' }, nullable: true },
    { name: 'ts', type: { kind: 'timestamp' }, nullable: true },
    { name: 'tz', type: { kind: 'timestamptz' }, nullable: true },
    { name: 't', type: { kind: 'time' }, nullable: true },
    { name: 'ttz', type: { kind: 'timetz' }, nullable: true },
    { name: 'iv', type: { kind: 'interval' }, nullable: true },
    { name: 'by', type: { kind: 'bytes' }, nullable: true },
    { name: 'arr', type: { kind: 'list', element: { kind: 'int64' } }, nullable: true },
  ],
};

const rows: Row[] = [
  {
    id: 9223372036854775807n, b: true, i16: -32768, i32: 2147483647, f32: 1.100000023841858, f64: -0, s: 'héllo "\n\u0000x', u: '123e4567-e89b-12d3-a456-426614174000',
    j: new JsonText('{"b":1,"a":12345678901234567890}'), dec: new Decimal('-12345678901234567890123456789012345678901234.5000'), d: new DateValue(-800000),
    ts: new Timestamp(-62135596800000001n, false), tz: new Timestamp(1700000000123456n, true), t: new TimeValue(86_400_000_000n), ttz: new TimeValue(3_600_000_001n, -34200),
    iv: new Interval(14, -3, 4_000_000_007n), by: new Uint8Array([0, 255, 10]), arr: [1n, null, -9223372036854775808n],
  },
  { id: -1n, f64: NaN, f32: Infinity, dec: new Decimal('NaN'), d: new DateValue('infinity'), ts: new Timestamp('-infinity', false), tz: new Timestamp('infinity', true), by: new Uint8Array(0), s: '' },
  { id: 0n, f64: -Infinity, dec: new Decimal('Infinity') },
];

test('current-state Parquet keeps every value exactly (big ints, decimals, infinities, µs, bytes)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pq-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.after(() => {
    conn.closeSync();
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'a.parquet');
  assert.equal(await writeRowsParquet(conn, schema, rows, path), 3);
  const back = await readRowsParquet(conn, schema, path);
  assert.deepEqual(canonRows(back, schema), canonRows(rows, schema));
  assert.ok(Object.is(back.find((r) => r['id'] === 9223372036854775807n)?.['f64'], -0));
  // Native types where exact: any engine can filter on them without casts.
  const types = await conn.runAndReadAll(`SELECT name, type FROM parquet_schema('${path}') WHERE name IN ('id','tz','by','dec')`);
  assert.deepEqual(Object.fromEntries(types.getRows().map((r) => [String(r[0]), String(r[1])])), { id: 'INT64', tz: 'INT64', by: 'BYTE_ARRAY', dec: 'BYTE_ARRAY' });
  // A column added by a newer schema version reads as null from an older file.
  const wider: TableSchema = { ...schema, version: 2, columns: [...schema.columns, { name: 'added', type: { kind: 'string' }, nullable: true }] };
  assert.ok((await readRowsParquet(conn, wider, path)).every((r) => r['added'] === null));
});

test('a value that does not match its column type is refused with the column named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pq-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.after(() => {
    conn.closeSync();
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });
  await assert.rejects(writeRowsParquet(conn, schema, [{ id: 1n, b: 'yes' }], join(dir, 'x.parquet')), (e: unknown) => e instanceof MergeError && /column b of s\.p\.all_types/.test(e.message));
});
