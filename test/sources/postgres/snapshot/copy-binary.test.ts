/**
 * The COPY-binary reader against a real PostgreSQL: every common type decoded from binary
 * equals what the change stream's text parsers make of the same value (the values the
 * change stream would carry), including edge values (infinity, BC, NaN, big numerics, arrays,
 * NULLs), and the decoder copes with any chunking of the COPY data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { silentLogger } from '../../../../src/core/logger.ts';
import { encodeValue, type Row } from '../../../../src/core/values.ts';
import { TableSelection } from '../../../../src/sources/postgres/config.ts';
import { PG_TYPE_SQL, TypeResolver, type PgTypeRow } from '../../../../src/sources/postgres/type-map.ts';
import { chunkCopySql, planChunks } from '../../../../src/sources/postgres/snapshot/chunk-planner.ts';
import { connectReader, readChunk } from '../../../../src/sources/postgres/snapshot/chunk-reader.ts';
import { CopyBinaryDecoder } from '../../../../src/sources/postgres/snapshot/copy-binary.ts';
import { copyOut } from '../../../../src/sources/postgres/snapshot/copy-out.ts';
import { describeTable } from '../../../../src/sources/postgres/snapshot/snapshot-table.ts';
import { startPostgres } from '../../../support/postgres.ts';

const seed = Number(process.env['TEST_SEED'] ?? Math.floor(Math.random() * 1e6));

test('COPY binary decodes every common type exactly like the text parsers', async () => {
  const server = await startPostgres();
  const c = await connectReader({ ...server.connection(), applicationName: 'test' }, 'reader');
  try {
    await c.query(`create type mood as enum ('sad', 'ok', 'happy')`);
    await c.query(`create domain posint as int4 check (value > 0)`);
    await c.query(`create table t (id int8 primary key, b bool, i2 int2, i4 int4, f4 float4, f8 float8, n numeric, n2 numeric(12,3), tx text, vc varchar(10), bp char(3),
      d date, ts timestamp, tz timestamptz, tm time, ttz timetz, iv interval, u uuid, j json, jb jsonb, by bytea, m mood, p posint,
      ai int4[], at text[], an numeric[], am mood[], inet1 inet, mac macaddr, o oid, ch "char", nm name, a2 int8[][])`);
    await c.query(`insert into t values
      (1, true, -32768, 2147483647, 1.5, 1e300, 123456789012345678901234567890.123456789, 12.5, 'héllo "q"', 'v', 'ab', '2024-02-29', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.5+02', '23:59:59.999999', '10:00:00-03:30', '1 year 2 months 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 12345678901234567890}', '{"b": [1, 2.50]}', '\\xdeadbeef', 'happy', 7,
        '{1,NULL,3}', '{"a b","c\\"d",NULL}', '{1.5,NaN}', '{sad,ok}', '10.0.0.1/8', '08:00:2b:01:02:03', 4000000000, 'x', 'nm', '{{1,2},{3,4}}'),
      (2, false, 0, -1, 'NaN', '-Infinity', 'NaN', -0.001, '', '', '', 'infinity', '-infinity', 'infinity', '00:00:00', '00:00:00+00', '-1 day -00:00:01', '00000000-0000-0000-0000-000000000000', 'null', '[]', '\\x', 'sad', 1,
        '{}', '{}', '{}', '{}', '::1', '00:00:00:00:00:00', 0, ' ', '', '{}'),
      (3, null, null, null, null, null, 0.00, 0, null, null, null, '0044-03-15 BC', '0044-03-15 12:00:00 BC', '1900-01-01 00:00:00+00', null, null, '0 seconds', null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null),
      (4, true, 1, 1, '-0', 'Infinity', '-0.000000001', 99999999.999, 'x', 'x', 'x', '1970-01-01', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00+00', '12:00:00', '12:00:00+05:45', '-178000000 years', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '1', '{"z":1,"a":2}', '\\x00ff', 'ok', 2147483647,
        '{-2147483648}', '{""}', '{10000,0.0001,-99999.99990}', '{happy}', '192.168.1.1', 'ff:ff:ff:ff:ff:ff', 4294967295, 'z', 'z', '{{-9223372036854775808}}')`);
    await c.query(`insert into t (id, n, n2) select 10 + g, (g * 7919)::numeric / 13, g * 1.001 from generate_series(1, 50) g`);
    const resolver = new TypeResolver(async (oid) => (await c.query(PG_TYPE_SQL, [oid])).rows[0] as PgTypeRow | undefined, silentLogger);
    const oid = Number((await c.query(`select 't'::regclass::oid::int as oid`)).rows[0].oid);
    const t = await describeTable(c, resolver, new TableSelection({ include: ['public.*'], exclude: [], exclude_columns: [] }), { schema: 'public', table: 't', oid });
    assert.deepEqual(t.key, ['id']);
    // Expected: each column as text, parsed by the change stream's parsers.
    const cols = (await c.query(`select attname::text as name, atttypid::int as oid, atttypmod as typmod from pg_attribute where attrelid = $1 and attnum > 0 and not attisdropped order by attnum`, [oid])).rows;
    // Raw text output (what pgoutput sends), not ::text casts (bool prints `true` there).
    const textRows = (await c.query({ text: `select ${cols.map((x) => `"${x.name}"`).join(', ')} from t order by id`, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } })).rows as Array<Array<string | null>>;
    const expected: Row[] = [];
    for (const tr of textRows) {
      const row: Row = {};
      for (let i = 0; i < cols.length; i++) {
        const col = cols[i] as { name: string; oid: number; typmod: number };
        const v = tr[i];
        row[col.name] = v === null || v === undefined ? null : (await resolver.resolve(col.oid, col.typmod)).parse(v);
      }
      expected.push(row);
    }
    const got: Row[] = [];
    const n = await readChunk(c, t, 'key', { lo: null, hi: null }, (r) => got.push(r));
    assert.equal(n, expected.length);
    got.sort((a, b) => Number(a['id'] as bigint) - Number(b['id'] as bigint));
    for (let i = 0; i < got.length; i++) {
      for (const col of cols) {
        const name = String(col.name);
        assert.deepEqual(encodeValue((got[i] as Row)[name] ?? null), encodeValue((expected[i] as Row)[name] ?? null), `row ${i} column ${name}`);
      }
    }

    // Any chunking of the COPY data decodes the same rows (seeded split points).
    console.log(`seed ${seed}`);
    let s = seed >>> 0;
    const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    const raw: Buffer[] = [];
    const cp = copyOut(c, chunkCopySql(t, 'key', { lo: null, hi: null }), (b, start, end) => raw.push(Buffer.from(b.subarray(start, end))));
    await cp.done;
    const all = Buffer.concat(raw);
    for (let round = 0; round < 20; round++) {
      const rows: Row[] = [];
      const d = new CopyBinaryDecoder(t.columns, (r) => rows.push(r));
      let off = 0;
      while (off < all.length) {
        const len = 1 + Math.floor(rnd() * 40);
        d.push(all.subarray(off, off + len));
        off += len;
      }
      d.finish();
      assert.equal(rows.length, expected.length);
      assert.deepEqual(rows.map((r) => encodeValue(r)), raw.length > 0 ? (await reread()).map((r) => encodeValue(r)) : []);
    }
    async function reread(): Promise<Row[]> {
      const rows: Row[] = [];
      const d = new CopyBinaryDecoder(t.columns, (r) => rows.push(r));
      d.push(all);
      d.finish();
      return rows;
    }

    // Chunks by key cover every row exactly once.
    await c.query(`create table big (k text primary key, v int)`);
    await c.query(`insert into big select md5(g::text), g from generate_series(1, 1000) g`);
    const bigOid = Number((await c.query(`select 'big'::regclass::oid::int as oid`)).rows[0].oid);
    const bt = await describeTable(c, resolver, new TableSelection({ include: ['public.*'], exclude: [], exclude_columns: [] }), { schema: 'public', table: 'big', oid: bigOid });
    const plan = await planChunks(c, bt, 128);
    assert.ok(plan.chunks.length >= 7, `chunks ${plan.chunks.length}`);
    const seen: number[] = [];
    for (const ch of plan.chunks) await readChunk(c, bt, plan.by, ch, (r) => seen.push(r['v'] as number));
    assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i + 1));
    // Without a key: CTID ranges.
    await c.query(`create table nokey (v int, pad text)`);
    await c.query(`insert into nokey select g, repeat('x', 200) from generate_series(1, 3000) g`);
    const nkOid = Number((await c.query(`select 'nokey'::regclass::oid::int as oid`)).rows[0].oid);
    const nk = await describeTable(c, resolver, new TableSelection({ include: ['public.*'], exclude: [], exclude_columns: [] }), { schema: 'public', table: 'nokey', oid: nkOid });
    const nplan = await planChunks(c, nk, 500);
    assert.equal(nplan.by, 'ctid');
    assert.ok(nplan.chunks.length >= 4, `chunks ${nplan.chunks.length}`);
    const nseen: number[] = [];
    for (const ch of nplan.chunks) await readChunk(c, nk, nplan.by, ch, (r) => nseen.push(r['v'] as number));
    assert.deepEqual(nseen.sort((a, b) => a - b), Array.from({ length: 3000 }, (_, i) => i + 1));
  } finally {
    await c.end();
    await server.stop();
  }
});

void pg;
