import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  civilFromDays,
  DateValue,
  daysFromCivil,
  Decimal,
  decodeValue,
  encodeValue,
  Interval,
  JsonText,
  TimeValue,
  Timestamp,
  valuesEqual,
  valueToJson,
  writeValueJson,
  decodeParsedValue,
  type Value,
} from '../../src/core/values.ts';
import { JsonByteWriter } from '../../src/core/json-bytes.ts';
import { CodecError } from '../../src/core/errors.ts';

const SEED = Number(process.env['HYDRANT_TEST_SEED'] ?? 20261121);
console.log(`values.test seed=${SEED}`);

/** Round trip through JSON text, as every path (stream, errors, lake JSON) does. */
function roundTrip(v: Value): Value {
  return decodeValue(JSON.parse(JSON.stringify(encodeValue(v))));
}

const decimalArb = fc.oneof(
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '0', '-0.000', '1.50'),
  fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 60n }), fc.nat(40)).map(([neg, digits, scale]) => {
    const s = digits.toString().padStart(scale + 1, '0');
    const text = scale === 0 ? s : `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
    return (neg ? '-' : '') + text;
  }),
);
const infinite = fc.constantFrom<'infinity' | '-infinity'>('infinity', '-infinity');
// PostgreSQL's range: 4713 BC .. 294276 AD in µs since 1970.
const microsArb = fc.bigInt({ min: -210_866_803_200_000_000n, max: 9_224_318_016_000_000_000n });

const leafArb: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(), // includes NaN, ±Infinity, -0
  fc.bigInt({ min: -(2n ** 128n), max: 2n ** 128n }),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  decimalArb.map((t) => new Decimal(t)),
  fc.tuple(fc.oneof(microsArb, infinite), fc.boolean()).map(([m, tz]) => new Timestamp(m, tz)),
  fc.oneof(fc.integer({ min: -2_451_545, max: 100_000_000 }), infinite).map((d) => new DateValue(d)),
  fc.tuple(fc.bigInt({ min: 0n, max: 86_400_000_000n }), fc.option(fc.integer({ min: -57_599, max: 57_599 }), { nil: undefined })).map(([us, off]) => new TimeValue(us, off)),
  fc.tuple(fc.integer(), fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(([mo, d, us]) => new Interval(mo, d, us)),
  fc.uint8Array({ maxLength: 64 }),
  fc.json().map((t) => new JsonText(t)),
);

const valueArb: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(fc.oneof(tie('v'), fc.constant(null)), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('$i', '$o', '$', '$x', 'a')), tie('v'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).v;

test('every value kind round-trips through JSON text exactly', () => {
  fc.assert(
    fc.property(valueArb, (v) => {
      const back = roundTrip(v);
      assert.ok(valuesEqual(v, back), `round trip changed ${JSON.stringify(encodeValue(v))}`);
      assert.deepEqual(back, v);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('64-bit and larger integers are kept as bigint, not numbers', () => {
  const v = 9_007_199_254_740_993n;
  const back = roundTrip(v);
  assert.equal(typeof back, 'bigint');
  assert.equal(back, v);
  assert.equal(roundTrip(-(2n ** 200n)), -(2n ** 200n));
});

test('doubles keep NaN, infinities and negative zero', () => {
  assert.ok(Number.isNaN(roundTrip(NaN)));
  assert.equal(roundTrip(Infinity), Infinity);
  assert.equal(roundTrip(-Infinity), -Infinity);
  assert.ok(Object.is(roundTrip(-0), -0));
  assert.equal(roundTrip(0.1 + 0.2), 0.1 + 0.2);
});

test('decimals keep every digit and their scale, and reject garbage', () => {
  const big = '-123456789012345678901234567890.123456789012345678900';
  const back = roundTrip(new Decimal(big));
  assert.ok(back instanceof Decimal);
  assert.equal(back.text, big);
  assert.equal(back.scale, 21);
  for (const t of ['NaN', 'Infinity', '-Infinity']) assert.equal((roundTrip(new Decimal(t)) as Decimal).text, t);
  assert.throws(() => new Decimal('1e5'), CodecError);
  assert.throws(() => new Decimal('12abc'), CodecError);
});

test('timestamps keep microseconds, BC years and infinity', () => {
  const t = new Timestamp(1_700_000_000_123_456n, true);
  assert.equal(t.toISOString(), '2023-11-14T22:13:20.123456Z');
  const bc = new Timestamp(BigInt(daysFromCivil(0, 1, 1)) * 86_400_000_000n + 1n, false); // 1 BC, Jan 1st
  assert.equal((roundTrip(bc) as Timestamp).micros, bc.micros);
  assert.match(bc.toISOString(), /^0000-/); // year 0 = 1 BC (astronomical numbering)
  assert.equal(new Timestamp(-210_866_803_200_000_000n, false).toISOString(), '-004713-11-24T00:00:00.000000');
  assert.equal((roundTrip(new Timestamp('infinity', true)) as Timestamp).micros, 'infinity');
  assert.equal((roundTrip(new Timestamp('-infinity', false)) as Timestamp).withTimeZone, false);
});

test('dates, times with zones and intervals round-trip and format', () => {
  assert.equal(new DateValue(0).toISOString(), '1970-01-01');
  assert.equal(new DateValue(daysFromCivil(-43, 3, 15)).toISOString(), '-000043-03-15');
  assert.equal((roundTrip(new DateValue('-infinity')) as DateValue).days, '-infinity');
  const tt = new TimeValue(45_296_000_007n, -(5 * 3600 + 30 * 60));
  assert.equal(tt.toISOString(), '12:34:56.000007-05:30');
  assert.deepEqual(roundTrip(tt), tt);
  const iv = new Interval(14, -3, -3_723_000_004n);
  assert.deepEqual(roundTrip(iv), iv);
  assert.equal(new TimeValue(86_400_000_000n).toISOString(), '24:00:00.000000');
  assert.throws(() => new TimeValue(-1n), CodecError);
});

test('civil date conversion is the inverse of days conversion over a wide range', () => {
  fc.assert(
    fc.property(fc.integer({ min: -3_000_000, max: 3_000_000 }), (days) => {
      const { y, m, d } = civilFromDays(days);
      assert.equal(daysFromCivil(y, m, d), days);
    }),
    { seed: SEED, numRuns: 5000 },
  );
});

test('bytes, JSON text with big integers and arrays with nulls round-trip', () => {
  const bytes = new Uint8Array([0, 255, 1, 128, 10]);
  assert.deepEqual(roundTrip(bytes), bytes);
  const doc = '{"id": 12345678901234567890123, "f": 1.000000000000000000001}';
  assert.equal((roundTrip(new JsonText(doc)) as JsonText).text, doc);
  const arr: Value = [[1n, null], [null, new Decimal('2.50')], []];
  assert.deepEqual(roundTrip(arr), arr);
});

test('objects whose keys look like tags are escaped, not misread', () => {
  const o: Value = { $i: 'not a bigint' };
  assert.deepEqual(roundTrip(o), o);
  assert.deepEqual(encodeValue(o), { $o: { $i: 'not a bigint' } });
  const two: Value = { $i: '1', x: 2 };
  assert.deepEqual(roundTrip(two), two);
});

test('malformed tagged values give a CodecError that names the tag', () => {
  assert.throws(() => decodeValue({ $i: 'x12' }), (e: unknown) => e instanceof CodecError && /\$i/.test(e.message));
  assert.throws(() => decodeValue({ $zz: 1 }), (e: unknown) => e instanceof CodecError && /\$zz/.test(e.message));
  assert.throws(() => decodeValue({ $iv: [1, 2] }), CodecError);
});

// ---- the fast paths must give exactly what the reference codec gives ----

const textArb = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  // Any UTF-16 code unit, lone surrogates and control characters included.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.string({ minLength: 60, maxLength: 200 }),
);
const fastValueArb: fc.Arbitrary<Value> = fc.oneof(
  valueArb,
  textArb,
  fc.dictionary(textArb, fc.oneof(textArb, valueArb), { maxKeys: 5, noNullPrototype: true }),
);

test('valueToJson and writeValueJson write exactly JSON.stringify(encodeValue(v))', () => {
  const w = new JsonByteWriter(16);
  fc.assert(
    fc.property(fastValueArb, (v) => {
      const ref = JSON.stringify(encodeValue(v));
      assert.equal(valueToJson(v), ref);
      w.reset();
      writeValueJson(w, v);
      assert.deepEqual(w.take(), Buffer.from(ref, 'utf8'));
    }),
    { seed: SEED, numRuns: 3000 },
  );
});

test('decodeParsedValue decodes like decodeValue (reusing the parsed objects)', () => {
  fc.assert(
    fc.property(fastValueArb, (v) => {
      const text = valueToJson(v);
      assert.deepEqual(decodeParsedValue(JSON.parse(text)), decodeValue(JSON.parse(text)));
      assert.deepEqual(decodeParsedValue(JSON.parse(text)), v);
    }),
    { seed: SEED, numRuns: 2000 },
  );
  for (const bad of [{ $i: 'x12' }, { $zz: 1 }, { $iv: [1, 2] }, { a: [{ $n: '1e5' }] }, { $o: { b: { $d: 'soon' } } }]) {
    const err = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof CodecError);
        return e.message;
      }
      return 'no error';
    };
    assert.equal(err(() => decodeParsedValue(structuredClone(bad))), err(() => decodeValue(bad)));
  }
});

test('holes, -0, undefined and __proto__ keys are encoded like the reference', () => {
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1n, , 'x'] as unknown as Value;
  assert.equal(valueToJson(sparse), JSON.stringify(encodeValue(sparse)));
  assert.equal(valueToJson(-0), '{"$f":"-0"}');
  const proto = JSON.parse('{"__proto__": {"$i": "5"}, "a": 1}') as Value;
  const decoded = decodeValue(proto);
  assert.equal(valueToJson(decoded), JSON.stringify(encodeValue(decoded)));
  assert.deepEqual(decodeParsedValue(JSON.parse('{"__proto__": {"$i": "5"}, "a": 1}')), decoded);
  assert.equal(Object.getPrototypeOf(decodeParsedValue(JSON.parse('{"__proto__": {"$i": "5"}}'))), Object.prototype);
  assert.throws(() => valueToJson({ a: undefined } as unknown as Value), CodecError);
  const w = new JsonByteWriter();
  assert.throws(() => writeValueJson(w, [() => 1] as unknown as Value), CodecError);
});
