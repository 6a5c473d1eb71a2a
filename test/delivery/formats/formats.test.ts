/**
 * Every format and codec is read back by DuckDB and by a second, independent reader
 * (hyparquet + hyparquet-compressors for Parquet; our decompressor + the value codec for
 * JSONL, an RFC 4180 parser for CSV), and values must equal what went in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DateValue, daysFromCivil, Decimal, decodeValue, encodeValue, Interval, JsonText, Timestamp, TimeValue, type Row } from '../../../src/core/values.ts';
import { COMPRESSIONS, decompress } from '../../../src/delivery/compression.ts';
import { CsvWriter } from '../../../src/delivery/formats/csv.ts';
import { fromRows, type OutputColumn } from '../../../src/delivery/formats/format.ts';
import { JsonlWriter } from '../../../src/delivery/formats/jsonl.ts';
import { ParquetWriter } from '../../../src/delivery/formats/parquet.ts';
import { duckRows as duck } from '../../support/duckdb.ts';

const COLUMNS: OutputColumn[] = [
  { name: 'id', type: { kind: 'int64' } },
  { name: 'i16', type: { kind: 'int16' } },
  { name: 'i32', type: { kind: 'int32' } },
  { name: 'dec', type: { kind: 'decimal', precision: 12, scale: 2 } },
  { name: 'num', type: { kind: 'decimal' } },
  { name: 'f64', type: { kind: 'float64' } },
  { name: 'f32', type: { kind: 'float32' } },
  { name: 'ok', type: { kind: 'boolean' } },
  { name: 's', type: { kind: 'string' } },
  { name: 'u', type: { kind: 'uuid' } },
  { name: 'j', type: { kind: 'json' } },
  { name: 'd', type: { kind: 'date' } },
  { name: 't', type: { kind: 'time' } },
  { name: 'ttz', type: { kind: 'timetz' } },
  { name: 'ts', type: { kind: 'timestamp' } },
  { name: 'tstz', type: { kind: 'timestamptz' } },
  { name: 'iv', type: { kind: 'interval' } },
  { name: 'by', type: { kind: 'bytes' } },
  { name: 'arr', type: { kind: 'list', element: { kind: 'int32' } } },
  { name: 'tags', type: { kind: 'list', element: { kind: 'string' } } },
  { name: 'grid', type: { kind: 'list', element: { kind: 'int64' }, dimensions: 2 } },
];

const ROWS: Row[] = [
  { id: 9007199254740993n, i16: -32768, i32: 2147483647, dec: new Decimal('1234567890.12'), num: new Decimal('123456789012345678901234567890123456789012.000000001'), f64: 0.1, f32: 1.5, ok: true, s: 'comma, "quote"\nnewline ü', u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', j: new JsonText('{"big":12345678901234567890}'), d: new DateValue(daysFromCivil(-44, 3, 15)), t: new TimeValue(3723000001n), ttz: new TimeValue(36000000000n, 7200), ts: new Timestamp(1700000000123456n, false), tstz: new Timestamp(-62135596800000001n, true), iv: new Interval(14, 3, 5000001n), by: new Uint8Array([0, 255, 1, 10]), arr: [1, null, -3], tags: ['a', ''], grid: [[1n, 2n], [3n, null]] },
  { id: -9223372036854775808n, i16: null, i32: 0, dec: new Decimal('NaN'), num: new Decimal('NaN'), f64: NaN, f32: null, ok: false, s: '', u: null, j: null, d: new DateValue('infinity'), t: new TimeValue(0n), ttz: null, ts: new Timestamp('-infinity', false), tstz: new Timestamp('infinity', true), iv: new Interval(0, 0, -1n), by: new Uint8Array(0), arr: [], tags: null },
  { id: 0n, i16: 7, i32: -1, dec: new Decimal('-0.50'), num: new Decimal('-Infinity'), f64: -0, f32: -2.25, ok: null, s: ' lead', u: '00000000-0000-0000-0000-000000000000', j: new JsonText('[1,2]'), d: new DateValue(0), t: null, ttz: new TimeValue(0n, -34200), ts: new Timestamp(0n, false), tstz: new Timestamp(1n, true), iv: null, by: null, arr: null, tags: ['x,y'] },
  { id: 1n, i16: null, i32: null, dec: new Decimal('Infinity'), num: null, f64: Infinity, f32: null, ok: null, s: null, u: null, j: null, d: new DateValue('-infinity'), t: null, ttz: null, ts: null, tstz: null, iv: null, by: null, arr: null, tags: null },
];

const enc = (v: unknown): string => JSON.stringify(encodeValue(v as never));

for (const compression of COMPRESSIONS) {
  test(`parquet (${compression}): DuckDB DESCRIBE types, values via DuckDB and hyparquet`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-fmt-'));
    const w = new ParquetWriter({ memoryLimitMiB: 128, rowGroupSize: 2048 });
    try {
      const file = join(dir, 'x.parquet');
      const r = await w.write(COLUMNS, fromRows(ROWS), file, compression);
      assert.deepEqual(r, { rows: 4, failed: [] });
      const desc = await duck<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM '${file}'`);
      assert.deepEqual(Object.fromEntries(desc.map((d) => [d.column_name, d.column_type])), {
        id: 'BIGINT', i16: 'SMALLINT', i32: 'INTEGER', dec: 'DECIMAL(12,2)', dec__special: 'VARCHAR', num: 'VARCHAR', f64: 'DOUBLE', f32: 'FLOAT', ok: 'BOOLEAN', s: 'VARCHAR', u: 'UUID', j: 'JSON',
        d: 'DATE', d__special: 'VARCHAR', t: 'TIME', ttz: 'VARCHAR', ts: 'TIMESTAMP', ts__special: 'VARCHAR', tstz: 'TIMESTAMP WITH TIME ZONE', tstz__special: 'VARCHAR', iv: 'VARCHAR', by: 'BLOB', arr: 'INTEGER[]', tags: 'VARCHAR[]', grid: 'BIGINT[][]',
      });
      const codec = await duck<{ c: string }>(`SELECT DISTINCT compression c FROM parquet_metadata('${file}')`);
      assert.deepEqual(codec.map((x) => x.c), [compression === 'none' ? 'UNCOMPRESSED' : compression.toUpperCase()]);
      // DuckDB: exact text of every value.
      const got = await duck(`SELECT id::VARCHAR id, i16, i32, "dec"::VARCHAR "dec", dec__special, num, f64::VARCHAR f64, f32::VARCHAR f32, ok, s, u::VARCHAR u, j::VARCHAR j, d::VARCHAR d, d__special,
        (epoch_us(DATE '1970-01-01' + t))::VARCHAR t, ttz, epoch_us(ts)::VARCHAR ts, ts__special, epoch_us(tstz)::VARCHAR tstz, tstz__special, iv, hex("by") "by", arr, tags, grid::VARCHAR grid FROM '${file}'`);
      assert.deepEqual(got[0], { id: '9007199254740993', i16: -32768, i32: 2147483647, dec: '1234567890.12', dec__special: null, num: '123456789012345678901234567890123456789012.000000001', f64: '0.1', f32: '1.5', ok: true, s: 'comma, "quote"\nnewline ü', u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', j: '{"big":12345678901234567890}', d: '0045-03-15 (BC)', d__special: null, t: '3723000001', ttz: '10:00:00.000000+02:00', ts: '1700000000123456', ts__special: null, tstz: '-62135596800000001', tstz__special: null, iv: 'P14M3DT0H0M5.000001S', by: '00FF010A', arr: [1, null, -3], tags: ['a', ''], grid: '[[1, 2], [3, NULL]]' });
      assert.deepEqual(got[1], { id: '-9223372036854775808', i16: null, i32: 0, dec: null, dec__special: 'NaN', num: 'NaN', f64: 'nan', f32: null, ok: false, s: '', u: null, j: null, d: null, d__special: 'infinity', t: '0', ttz: null, ts: null, ts__special: '-infinity', tstz: null, tstz__special: 'infinity', iv: 'P0M0DT-0H-0M-0.000001S', by: '', arr: [], tags: null, grid: null });
      assert.deepEqual([got[2]?.['dec'], got[2]?.['num'], got[2]?.['f64'], got[2]?.['s'], got[2]?.['ttz']], ['-0.50', '-Infinity', '-0.0', ' lead', '00:00:00.000000-09:30']);
      assert.deepEqual([got[3]?.['dec'], got[3]?.['dec__special'], got[3]?.['f64'], got[3]?.['d__special']], [null, 'Infinity', 'inf', '-infinity']);
      // hyparquet (independent reader).
      const buf = readFileSync(file);
      const hy = (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), compressors })) as Array<Record<string, unknown>>;
      assert.equal(hy.length, 4);
      const h0 = hy[0] as Record<string, unknown>;
      assert.equal(h0['id'], 9007199254740993n);
      // hyparquet turns DECIMAL into a double; the unscaled integer must still be exact.
      assert.equal(Math.round((h0['dec'] as number) * 100), 123456789012);
      assert.equal(h0['num'], '123456789012345678901234567890123456789012.000000001');
      assert.equal(h0['s'], 'comma, "quote"\nnewline ü');
      assert.equal(h0['t'], 3723000001n);
      assert.equal((h0['ts'] as Date).getTime(), 1700000000123);
      assert.deepEqual(h0['arr'], [1, null, -3]);
      // BLOB has no logical type, so hyparquet needs utf8: false to hand out bytes.
      const raw = (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), compressors, columns: ['by'], utf8: false })) as Array<{ by: Uint8Array }>;
      assert.deepEqual([...(raw[0]?.by as Uint8Array)], [0, 255, 1, 10]);
      assert.deepEqual(h0['j'], { big: 12345678901234567890 });
      assert.ok(Number.isNaN(hy[1]?.['f64']));
      assert.equal(hy[1]?.['dec__special'], 'NaN');
      assert.equal(hy[1]?.['tstz__special'], 'infinity');
      assert.ok(Object.is(hy[2]?.['f64'], -0));
      assert.equal(hy[3]?.['f64'], Infinity);
    } finally {
      await w.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`jsonl (${compression}): lossless codec read back by the value codec and by DuckDB`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-fmt-'));
    try {
      const file = join(dir, 'x.jsonl');
      assert.deepEqual(await new JsonlWriter().write(COLUMNS, fromRows(ROWS), file, compression), { rows: 4, failed: [] });
      const text = Buffer.from(await decompress(compression, readFileSync(file))).toString('utf8');
      const back = text.trim().split('\n').map((l) => decodeValue(JSON.parse(l)) as Row);
      assert.equal(back.length, ROWS.length);
      for (let i = 0; i < ROWS.length; i++) for (const c of COLUMNS) assert.equal(enc(back[i]?.[c.name] ?? null), enc(ROWS[i]?.[c.name] ?? null), `row ${i} column ${c.name}`);
      // DuckDB reads the decompressed file (it has no raw-snappy reader).
      const plain = join(dir, 'plain.jsonl');
      writeFileSync(plain, text);
      const got = await duck<{ id: string; s: string; n: string }>(`SELECT json_extract_string(id, '$."$i"') id, s, count(*) OVER ()::VARCHAR n FROM read_json('${plain}', format='newline_delimited', columns={id: 'JSON', s: 'VARCHAR'}) LIMIT 1`);
      assert.deepEqual(got[0], { id: '9007199254740993', s: 'comma, "quote"\nnewline ü', n: '4' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`csv (${compression}): RFC 4180 read back by DuckDB and by a strict parser`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-fmt-'));
    try {
      const file = join(dir, 'x.csv');
      assert.deepEqual(await new CsvWriter({ header: true }).write(COLUMNS, fromRows(ROWS), file, compression), { rows: 4, failed: [] });
      const text = Buffer.from(await decompress(compression, readFileSync(file))).toString('utf8');
      const parsed = parseCsv(text);
      assert.deepEqual(parsed[0], COLUMNS.map((c) => c.name));
      assert.equal(parsed.length, 5);
      const r0 = parsed[1] as Array<string | null>;
      assert.deepEqual(r0.slice(0, 11), ['9007199254740993', '-32768', '2147483647', '1234567890.12', '123456789012345678901234567890123456789012.000000001', '0.1', '1.5', 'true', 'comma, "quote"\nnewline ü', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"big":12345678901234567890}']);
      assert.deepEqual(r0.slice(11), ['-000044-03-15', '01:02:03.000001', '10:00:00.000000+02:00', '2023-11-14T22:13:20.123456', '0000-12-31T23:59:59.999999Z', 'P14M3DT0H0M5.000001S', 'AP8BCg==', '[1,null,-3]', '["a",""]', '[[{"$i":"1"},{"$i":"2"}],[{"$i":"3"},null]]']);
      const r1 = parsed[2] as Array<string | null>;
      assert.equal(r1[1], null, 'NULL is an empty unquoted field');
      assert.equal(r1[8], '', 'empty string stays distinct from NULL');
      assert.deepEqual([r1[3], r1[11], r1[14], r1[15]], ['NaN', 'infinity', '-infinity', 'infinity']);
      const plain = join(dir, 'plain.csv');
      writeFileSync(plain, text);
      const got = await duck<{ id: string; s: string | null; n: string }>(`SELECT id::VARCHAR id, s, count(*) OVER ()::VARCHAR n FROM read_csv('${plain}', header = true, all_varchar = true, allow_quoted_nulls = false)`);
      assert.deepEqual(got.map((g) => g.s), ['comma, "quote"\nnewline ü', '', ' lead', null]);
      assert.equal(got[0]?.id, '9007199254740993');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Strict RFC 4180 parser: quoted fields, doubled quotes, CRLF records; unquoted empty = null. */
function parseCsv(text: string): Array<Array<string | null>> {
  const out: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  let i = 0;
  while (i < text.length) {
    let field: string | null;
    if (text[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quote');
        s += text.slice(i, q);
        if (text[q + 1] === '"') {
          s += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      field = s;
    } else {
      let j = i;
      while (j < text.length && text[j] !== ',' && text[j] !== '\r') j++;
      field = j === i ? null : text.slice(i, j);
      i = j;
    }
    row.push(field);
    if (text[i] === ',') i++;
    else if (text.startsWith('\r\n', i)) {
      out.push(row);
      row = [];
      i += 2;
    } else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
  }
  return out;
}
