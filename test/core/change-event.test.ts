import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { changeHeadJson, changeJson, changePartitionKey, decodeEnvelope, encodeEnvelope, envelopeFromJson, envelopeToJson, partitionKeyOf, type ChangeEvent, type Envelope, type LogEvent } from '../../src/core/change-event.ts';
import { DateValue, Decimal, encodeValue, JsonText, Timestamp, valueToJson, type Row, type Value } from '../../src/core/values.ts';
import { Workload } from '../../src/sources/generator/workload.ts';
import { CodecError } from '../../src/core/errors.ts';

const change: ChangeEvent = {
  op: 'update',
  source: { kind: 'postgres', name: 'shop', database: 'app', schema: 'public', table: 'orders', position: '00000000016B3748/00000002', txId: '771', commitTime: new Timestamp(1_700_000_000_123_456n, true) },
  key: { id: 9_007_199_254_740_993n },
  before: null,
  after: { id: 9_007_199_254_740_993n, total: new Decimal('12.50'), meta: new JsonText('{"n": 123456789012345678901}'), note: null },
  unchanged: ['blob'],
  schemaVersion: 3,
};

test('a change event survives encoding byte for byte', () => {
  const back = decodeEnvelope(encodeEnvelope(change));
  assert.deepEqual(back, change);
  assert.deepEqual(encodeEnvelope(back), encodeEnvelope(change));
});

test('a log event survives encoding', () => {
  const ev: LogEvent = { op: 'event', source: { kind: 'http', name: 'clicks', position: '000000000042' }, key: 'user-7', eventTime: Timestamp.fromMillis(1_700_000_000_000), data: { path: '/', n: 2n ** 70n } };
  assert.deepEqual(decodeEnvelope(encodeEnvelope(ev)), ev);
});

test('the partition key is table plus primary key, so one row stays on one shard', () => {
  const other = { ...change, op: 'delete' as const, after: null, before: change.after };
  assert.equal(partitionKeyOf(change), partitionKeyOf(other));
  assert.notEqual(partitionKeyOf(change), partitionKeyOf({ ...change, key: { id: 1n } }));
  assert.match(partitionKeyOf(change), /^public\.orders:/);
});

test('unknown versions and ops are rejected with a clear error', () => {
  const j = JSON.parse(Buffer.from(encodeEnvelope(change)).toString());
  assert.throws(() => decodeEnvelope(Buffer.from(JSON.stringify({ ...j, v: 99 }))), (e: unknown) => e instanceof CodecError && /version 99/.test(e.message));
  assert.throws(() => decodeEnvelope(Buffer.from(JSON.stringify({ ...j, op: 'upsert' }))), (e: unknown) => e instanceof CodecError && /upsert/.test(e.message));
  assert.throws(() => decodeEnvelope(Buffer.from('{not json')), CodecError);
});

// ---- the direct encoder and the in-place decoder against the reference (wire format v1) ----

/** The original encoder: build the JSON-compatible object, then JSON.stringify it. */
function referenceJson(e: Envelope): string {
  if (e.op === 'event') {
    return JSON.stringify({ v: 1, op: 'event', source: e.source, key: e.key, eventTime: e.eventTime === null ? null : encodeValue(e.eventTime), data: encodeValue(e.data) });
  }
  const s = e.source;
  const row = (r: Row | null): unknown => (r === null ? null : encodeValue(r));
  const out: Record<string, unknown> = {
    v: 1,
    op: e.op,
    source: { kind: s.kind, name: s.name, database: s.database, schema: s.schema, table: s.table, position: s.position, txId: s.txId, commitTime: encodeValue(s.commitTime) },
    key: row(e.key),
    before: row(e.before),
    after: row(e.after),
    schemaVersion: e.schemaVersion,
  };
  if (e.unchanged !== undefined && e.unchanged.length > 0) out['unchanged'] = e.unchanged;
  return JSON.stringify(out);
}

const SEED = Number(process.env['HYDRANT_TEST_SEED'] ?? 20261122);
console.log(`change-event.test seed=${SEED}`);

const text = fc.oneof(fc.string(), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }));
const leaf: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.double(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), text,
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map((b) => new Decimal(`${b}.${(b < 0n ? -b : b) % 100n}`)),
  fc.tuple(fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }), fc.boolean()).map(([m, tz]) => new Timestamp(m, tz)),
  fc.integer({ min: -800_000, max: 800_000 }).map((d) => new DateValue(d)),
  fc.json().map((t) => new JsonText(t)),
  fc.uint8Array({ maxLength: 16 }),
  fc.array(fc.oneof(text, fc.integer(), fc.constant(null)), { maxLength: 3 }),
);
const rowArb: fc.Arbitrary<Row> = fc.dictionary(fc.oneof(text, fc.constantFrom('id', '$i', '__proto__')), leaf, { maxKeys: 6, noNullPrototype: true });
const changeArb: fc.Arbitrary<ChangeEvent> = fc.record({
  op: fc.constantFrom('insert', 'update', 'delete', 'snapshot', 'truncate'),
  kind: text, name: text, database: text, schema: text, table: text, position: text,
  txId: fc.option(text, { nil: undefined }),
  micros: fc.oneof(fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }), fc.constantFrom<'infinity' | '-infinity'>('infinity', '-infinity')),
  key: rowArb, before: fc.option(rowArb, { nil: null }), after: fc.option(rowArb, { nil: null }),
  unchanged: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
  schemaVersion: fc.nat(),
}).map((r) => ({
  op: r.op,
  source: { kind: r.kind, name: r.name, database: r.database, schema: r.schema, table: r.table, position: r.position, ...(r.txId === undefined ? {} : { txId: r.txId }), commitTime: new Timestamp(r.micros, true) },
  key: r.key, before: r.before, after: r.after,
  ...(r.unchanged === undefined ? {} : { unchanged: r.unchanged }),
  schemaVersion: r.schemaVersion,
}));

test('encodeEnvelope and envelopeToJson write exactly what the reference encoder wrote', () => {
  fc.assert(
    fc.property(changeArb, (e) => {
      const ref = referenceJson(e);
      assert.equal(envelopeToJson(e), ref);
      assert.deepEqual(Buffer.from(encodeEnvelope(e)), Buffer.from(ref, 'utf8'));
      assert.equal(partitionKeyOf(e), `${e.source.schema}.${e.source.table}:${JSON.stringify(encodeValue(e.key))}`);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('decodeEnvelope (in place) decodes like envelopeFromJson and leaves envelopeFromJson input untouched', () => {
  fc.assert(
    fc.property(changeArb, (e) => {
      const bytes = encodeEnvelope(e);
      const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
      const copy = structuredClone(parsed);
      const viaObject = envelopeFromJson(parsed);
      assert.deepEqual(parsed, copy, 'envelopeFromJson must not change its input');
      assert.deepEqual(decodeEnvelope(bytes), viaObject);
      assert.deepEqual(Buffer.from(encodeEnvelope(decodeEnvelope(bytes))), Buffer.from(bytes));
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('envelopes with fields of unexpected types still encode like the reference', () => {
  const odd = [
    { ...change, schemaVersion: NaN },
    { ...change, source: { ...change.source, txId: undefined } },
    { ...change, source: { ...change.source, database: undefined } },
    { ...change, unchanged: [] },
    { ...change, op: 'upsert' },
  ] as unknown as ChangeEvent[];
  for (const e of odd) {
    assert.equal(envelopeToJson(e), referenceJson(e));
    assert.deepEqual(Buffer.from(encodeEnvelope(e)), Buffer.from(referenceJson(e), 'utf8'));
  }
  const ev: LogEvent = { op: 'event', source: { kind: 'file', name: 'logs', position: '' }, key: null, eventTime: null, data: { line: 'a "quoted" é \u0000' } };
  assert.deepEqual(Buffer.from(encodeEnvelope(ev)), Buffer.from(referenceJson(ev), 'utf8'));
});

test('cached headers never mix up events of one table from different sources or ops', () => {
  const variants: ChangeEvent[] = [];
  for (const op of ['insert', 'delete'] as const) {
    for (const database of ['app', 'app2']) {
      for (const schema of ['public', 'audit']) variants.push({ ...change, op, source: { ...change.source, database, schema, name: `${database}-${schema}` } });
    }
  }
  // Many tables, so the cache is cleared and refilled on the way.
  for (let round = 0; round < 3; round++) {
    for (let t = 0; t < 1500; t++) {
      const e = variants[(t + round) % variants.length] as ChangeEvent;
      const ev = t % 7 === 0 ? e : { ...e, source: { ...e.source, table: `t${t % 1100}` } };
      assert.equal(Buffer.from(encodeEnvelope(ev)).toString('utf8'), referenceJson(ev));
    }
  }
});

test('record bytes with a BOM or invalid UTF-8 are treated as before (rejected / replaced)', () => {
  const good = Buffer.from(encodeEnvelope(change));
  assert.throws(() => decodeEnvelope(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good])), CodecError);
  // An invalid byte inside a string becomes U+FFFD, exactly as Buffer#toString('utf8') decodes it.
  const text = good.toString('utf8').replace('"orders"', '"ord\u0001rs"');
  const bad = Buffer.from(text, 'utf8');
  bad[bad.indexOf(1)] = 0xff;
  const e = decodeEnvelope(new Uint8Array(bad.buffer, bad.byteOffset, bad.byteLength)) as ChangeEvent;
  assert.equal(e.source.table, 'ord\ufffdrs');
  assert.equal(e.source.table, (JSON.parse(bad.toString('utf8')) as { source: { table: string } }).source.table);
});

test('changeJson and changePartitionKey from rendered parts equal envelopeToJson and partitionKeyOf', () => {
  const w = new Workload(77, { source: 'shop', database: 'shop', schema: 'public', startMillis: 0 });
  const extra: ChangeEvent[] = [
    { op: 'update', source: { kind: 'postgres', name: 'n"q', database: 'd', schema: 's', table: 't\\x', position: 'p"1', txId: 'é', commitTime: new Timestamp(1n, true) }, key: { id: 1 }, before: { id: 1 }, after: { id: 2 }, unchanged: ['big', 'x"y'], schemaVersion: 3 },
    { op: 'truncate', source: { kind: 'postgres', name: 'n', database: 'd', schema: 's', table: 't', position: '2', commitTime: new Timestamp(-5n, false) }, key: {}, before: null, after: null, schemaVersion: 1 },
  ];
  for (const e of [...Array.from({ length: 500 }, () => w.next()), ...extra]) {
    const s = e.source;
    const json = changeJson(changeHeadJson(e.op, s), s.position, s.txId, valueToJson(s.commitTime), valueToJson(e.key), valueToJson(e.before), valueToJson(e.after), e.schemaVersion, e.unchanged);
    assert.equal(json, envelopeToJson(e));
    assert.equal(changePartitionKey(s.schema, s.table, valueToJson(e.key)), partitionKeyOf(e));
  }
});
