import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DateValue, Interval, Timestamp, TimeValue, type Value } from '../../../src/core/values.ts';
import { parseArray, parseDate, parseInt32, parseInterval, parseString, parseTime, parseTimestamp, parseTimestamptz, parseTimetz } from '../../../src/sources/postgres/type-parsers.ts';
import { formatPosition, parsePosition, formatLsn, parseLsn } from '../../../src/sources/postgres/lsn.ts';

test('arrays: NULLs, quoting, escapes, nesting, dimension decorations, custom delimiters', () => {
  assert.deepEqual(parseArray('{1,NULL,3}', parseInt32), [1, null, 3]);
  assert.deepEqual(parseArray('{{1,2},{3,4}}', parseInt32), [[1, 2], [3, 4]]);
  assert.deepEqual(parseArray('{}', parseInt32), []);
  assert.deepEqual(parseArray('{"a b","x\\"y","NULL",NULL,"","{,}","back\\\\slash"}', parseString), ['a b', 'x"y', 'NULL', null, '', '{,}', 'back\\slash']);
  assert.deepEqual(parseArray('[0:1]={7,8}', parseInt32), [7, 8]);
  assert.deepEqual(parseArray('[1:1][1:2]={{1,2}}', parseInt32), [[1, 2]]);
  assert.deepEqual(parseArray('{(1,2);(3,4)}', parseString, ';'), ['(1,2)', '(3,4)']);
  assert.throws(() => parseArray('{1,2', parseInt32), /cannot parse PostgreSQL array/);
});

test('intervals in iso_8601 style, signs per field', () => {
  const iv = (s: string): Value => parseInterval(s);
  assert.deepEqual(iv('PT0S'), new Interval(0, 0, 0n));
  assert.deepEqual(iv('P1Y2M3DT4H5M6.5S'), new Interval(14, 3, 14_706_500_000n));
  assert.deepEqual(iv('P-1Y-2M3DT-4H-5M-6.000007S'), new Interval(-14, 3, -14_706_000_007n));
  assert.deepEqual(iv('PT-0.000001S'), new Interval(0, 0, -1n));
  assert.deepEqual(iv('P2W'), new Interval(0, 14, 0n));
});

test('dates, times and timestamps: BC, infinity, offsets with seconds, 24:00', () => {
  assert.deepEqual(parseDate('1970-01-02'), new DateValue(1));
  assert.deepEqual(parseDate('0001-01-01 BC'), new DateValue(-719528));
  assert.deepEqual(parseDate('-infinity'), new DateValue('-infinity'));
  assert.deepEqual(parseTime('24:00:00'), new TimeValue(86_400_000_000n));
  assert.deepEqual(parseTimetz('12:00:00.5+05:30'), new TimeValue(43_200_500_000n, 19_800));
  assert.deepEqual(parseTimetz('00:00:00-00:53:28'), new TimeValue(0n, -3208));
  assert.deepEqual(parseTimestamptz('1970-01-01 00:00:00+01'), new Timestamp(-3_600_000_000n, true));
  assert.deepEqual(parseTimestamptz('1970-01-01 00:00:00+00:53:28'), new Timestamp(-3_208_000_000n, true));
  assert.deepEqual(parseTimestamp('0001-01-01 00:00:00 BC'), new Timestamp(-62_167_219_200_000_000n, false));
  assert.deepEqual(parseTimestamp('infinity'), new Timestamp('infinity', false));
  assert.deepEqual(parseTimestamp('294276-12-31 23:59:59.999999'), new Timestamp(9_224_318_015_999_999_999n, false));
});

test('timestamp parsing (fast path shapes: 4-digit years, whole-hour offsets, 0-6 fraction digits) matches an independent calendar', () => {
  // Expected values come from an independent computation (Date's proleptic Gregorian calendar).
  fc.assert(fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: -15, max: 15 }), (y, m, d, secs, frac, digits, tz) => {
    const fracText = digits === 0 ? '' : '.' + String(frac).padStart(6, '0').slice(0, digits);
    const fracMicros = digits === 0 ? 0n : BigInt(String(frac).padStart(6, '0').slice(0, digits).padEnd(6, '0'));
    const p2 = (n: number): string => String(n).padStart(2, '0');
    const text = `${String(y).padStart(4, '0')}-${p2(m)}-${p2(d)} ${p2(Math.floor(secs / 3600))}:${p2(Math.floor(secs / 60) % 60)}:${p2(secs % 60)}${fracText}${tz < 0 ? '-' : '+'}${p2(Math.abs(tz))}`;
    const dt = new Date(0);
    dt.setUTCFullYear(y, m - 1, d);
    const days = BigInt(dt.getTime() / 86_400_000);
    const want = (days * 86_400n + BigInt(secs) - BigInt(tz * 3600)) * 1_000_000n + fracMicros;
    assert.equal((parseTimestamptz(text) as Timestamp).micros, want, text);
  }), { seed: 42, numRuns: 2000 });
});

test('LSNs and positions: fixed width, string order is numeric order', () => {
  assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
  assert.equal(parsePosition(formatPosition(0x16b374d848n, 5)).index, 5);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat(), fc.nat(), (a, b, i, j) => {
    const pa = formatPosition(a, i);
    const pb = formatPosition(b, j);
    const numeric = a === b ? Math.sign(i - j) : a < b ? -1 : 1;
    assert.equal(pa === pb ? 0 : pa < pb ? -1 : 1, numeric);
  }), { seed: 7 });
});
