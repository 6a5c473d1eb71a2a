/**
 * The tuple writer generated per relation against the general one (which encoded.test.ts holds
 * to the object path byte for byte against a real server): random pgoutput tuples of every
 * column kind the generated code inlines (and some it calls out for), with NULLs, unchanged
 * TOAST values, uncaptured columns, text that needs escaping or is not ASCII, in all three
 * modes (new tuple, key-only old tuple, full old tuple).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedEventsBuilder } from '../../../src/core/encoded-events.ts';
import { columnReader, Latin1Text } from '../../../src/sources/postgres/column-readers.ts';
import type { RelationState } from '../../../src/sources/postgres/relations.ts';
import { columnWriterFor, generatedTupleWriter, partitionKeyAt, TupleRecordWriter } from '../../../src/sources/postgres/tuple-record.ts';
import { columnJsonFor } from '../../../src/sources/postgres/tuple-json.ts';
import * as tp from '../../../src/sources/postgres/type-parsers.ts';
import { prng } from '../../support/prng.ts';


type Gen = (r: () => number) => string;
/** A timestamp text of the common shape, 1700-2250, with 0-6 fraction digits. */
function randomTs(r: () => number): string {
  const p2 = (x: number): string => String(x).padStart(2, '0');
  const frac = Math.floor(r() * 7);
  const f = frac === 0 ? '' : '.' + String(Math.floor(r() * 10 ** frac)).padStart(frac, '0');
  return `${1700 + Math.floor(r() * 550)}-${p2(1 + Math.floor(r() * 12))}-${p2(1 + Math.floor(r() * 28))} ${p2(Math.floor(r() * 24))}:${p2(Math.floor(r() * 60))}:${p2(Math.floor(r() * 60))}${f}`;
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const TEXTS = ['plain', '', 'quote " here', 'back \\ slash', 'tab\there', 'nl\n', 'é中😀', 'x'.repeat(70), 'y'.repeat(200) + '"', '\x7f del', '~!@#$%^&*()'];
const TYPES: ReadonlyArray<{ parse: tp.TextParser; sourceType: string; gen: Gen }> = [
  { parse: tp.parseInt32, sourceType: 'int4', gen: (r) => String(Math.floor(r() * 4e9) - 2e9) },
  { parse: tp.parseInt64, sourceType: 'int8', gen: (r) => pick(r, ['0', '-9223372036854775808', '9223372036854775807', String(Math.floor(r() * 1e15))]) },
  { parse: tp.parseNumeric, sourceType: 'numeric', gen: (r) => pick(r, ['NaN', 'Infinity', '-Infinity', '0.00', (r() * 1e6 - 5e5).toFixed(3), '123456789012345678901234567890.5']) },
  { parse: tp.parseBool, sourceType: 'bool', gen: (r) => pick(r, ['t', 'f']) },
  { parse: tp.parseString, sourceType: 'text', gen: (r) => pick(r, TEXTS) },
  { parse: tp.parseString, sourceType: 'uuid', gen: () => 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
  { parse: tp.parseTimestamptz, sourceType: 'timestamptz', gen: (r) => pick(r, ['2026-11-22 04:45:00.123456+00', '2026-11-22 04:45:00+05:30', 'infinity', '1999-01-08 04:05:06.5-08', '0044-03-15 12:00:00+00 BC', '1969-12-31 23:59:59.999999+00', '1970-01-01 00:00:00+00', randomTs(r) + '+02']) },
  { parse: tp.parseTimestamp, sourceType: 'timestamp', gen: (r) => pick(r, ['2026-11-22 04:45:00.123456', '-infinity', '2000-01-01 00:00:00', '1900-02-28 23:59:59.000001', randomTs(r)]) },
  { parse: tp.parseDate, sourceType: 'date', gen: (r) => pick(r, ['2026-11-22', 'infinity', '1970-01-01']) },
  { parse: tp.parseJson, sourceType: 'jsonb', gen: (r) => pick(r, ['{"a": 12345678901234567890}', '[1, "x\\"y"]', 'null']) },
  { parse: tp.parseFloat, sourceType: 'float8', gen: (r) => pick(r, ['NaN', '-0', '1.5e300', '3.25']) },
];

/** TupleData bytes: column count, then per column 't' + length + text, 'n', or 'u'. */
function tuple(values: ReadonlyArray<string | null | undefined>): Buffer {
  const parts: Buffer[] = [Buffer.from([values.length >> 8, values.length & 255])];
  for (const v of values) {
    if (v === null) parts.push(Buffer.from('n'));
    else if (v === undefined) parts.push(Buffer.from('u'));
    else {
      const b = Buffer.from(v, 'utf8');
      const h = Buffer.alloc(5);
      h[0] = 0x74;
      h.writeUInt32BE(b.length, 1);
      parts.push(h, b);
    }
  }
  return Buffer.concat(parts);
}

test('the generated tuple writer writes what the general one writes (keys, rows, unchanged lists, all modes)', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (rerun with SEED=${seed})`);
  const r = prng(seed);
  let compared = 0;
  for (let round = 0; round < 60; round++) {
    const n = 1 + Math.floor(r() * 9);
    const types = Array.from({ length: n }, () => pick(r, TYPES));
    const columns = types.map((t, i) => ({ name: pick(r, [`c${i}`, `é${i}`, `"q${i}"`, `col ${i}`]), parse: t.parse, read: columnReader({ parse: t.parse, sourceType: t.sourceType } as never), captured: r() < 0.85 }));
    const keyIndexes = Array.from({ length: 1 + Math.floor(r() * Math.min(3, n)) }, () => Math.floor(r() * n)).filter((x, i, a) => a.indexOf(x) === i);
    const rel = { serial: round, relid: round, schemaName: 'public', table: `t${round}`, captured: true, columns, keyIndexes, schema: { version: 1 } } as unknown as RelationState;
    const g = generatedTupleWriter(rel);
    assert.ok(g !== undefined);
    const general = new TupleRecordWriter();
    const text = new Latin1Text();
    for (let row = 0; row < 40; row++) {
      const values = types.map((t) => (r() < 0.1 ? null : r() < 0.08 ? undefined : t.gen(r)));
      const buf = Buffer.concat([Buffer.from('xyz'), tuple(values)]);
      const mode = Math.floor(r() * 3);
      const a = new EncodedEventsBuilder(64);
      const ua: string[] = [];
      const keyAt = new Int32Array(2);
      assert.equal(g(buf, 3, a, text, ua, mode, keyAt), true);
      const keyA = partitionKeyAt(rel, a, keyAt);
      const b = new EncodedEventsBuilder(64);
      const ub: string[] = [];
      general.scan(rel, buf, 3, ub);
      const keyB = general.writeKey(text, b);
      b.bytes(Buffer.from(mode === 0 ? ',"before":null,"after":' : ',"before":'));
      general.writeRow(text, b, mode === 1);
      assert.equal(a.buf.toString('utf8', 0, a.at), b.buf.toString('utf8', 0, b.at), `seed ${seed} round ${round} row ${row} mode ${mode} values ${JSON.stringify(values)}`);
      assert.equal(keyA, keyB);
      assert.deepEqual(ua, ub);
      // What was written is JSON.
      JSON.parse(`{"key":${a.buf.toString('utf8', 0, a.at)}}`);
      compared++;
    }
    // A tuple with another column count is left to the general writer, with nothing written.
    const short = new EncodedEventsBuilder(64);
    assert.equal(g(Buffer.concat([Buffer.from('xyz'), tuple(types.slice(0, n - 1).map(() => null).concat(n === 1 ? [null, null] : []))]), 3, short, text, [], 0, new Int32Array(2)), false);
    assert.equal(short.at, 0);
  }
  assert.equal(compared, 60 * 40);
});

test('every column writer writes exactly its column JSON writer\'s text (the value path the object path shares)', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (rerun with SEED=${seed})`);
  const r = prng(seed);
  const text = new Latin1Text();
  for (const t of TYPES) {
    const read = columnReader({ parse: t.parse, sourceType: t.sourceType } as never);
    const json = columnJsonFor(t.parse, read);
    const w = columnWriterFor(t.parse, json);
    let prev = '';
    for (let i = 0; i < 300; i++) {
      // Repeats on purpose: writers may remember their last value.
      const v = i % 3 === 2 ? prev : t.gen(r);
      prev = v;
      const b = Buffer.from('..' + v + '..', 'utf8');
      const out = new EncodedEventsBuilder(16);
      out.text('[');
      w(b, 2, b.length - 2, text, out);
      assert.equal(out.buf.toString('utf8', 1, out.at), json(b, 2, b.length - 2, text), `${t.sourceType} ${JSON.stringify(v)} seed ${seed}`);
    }
  }
});
