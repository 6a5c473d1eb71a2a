import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { columnReader, Latin1Text } from '../../../src/sources/postgres/column-readers.ts';
import { TypeResolver } from '../../../src/sources/postgres/type-map.ts';
import { silentLogger } from '../../../src/core/logger.ts';

const resolver = new TypeResolver(async () => undefined, silentLogger);

/** Reads `text` placed inside a larger buffer (other bytes around it, as in a message). */
function viaBytes(oid: number, text: string, reader = columnReader(resolver.cached(oid)!)): unknown {
  const body = Buffer.from(text, 'utf8');
  const b = Buffer.concat([Buffer.from([0x74, 0xff, 0x80, 0x00]), body, Buffer.from([0x00, 0xfe])]);
  return reader(b, 4, 4 + body.length, new Latin1Text());
}

function same(oid: number, text: string): void {
  const t = resolver.cached(oid)!;
  assert.deepEqual(viaBytes(oid, text), t.parse(text), `${t.sourceType} ${JSON.stringify(text)}`);
}

test('column readers return what the text parsers return: integers, numerics, floats, bools, strings', () => {
  for (const s of ['0', '1', '-1', '2147483647', '-2147483648', '32767', '-32768']) same(23, s);
  for (const s of ['0', '-7', '999999999999999', '1000000000000000', '9223372036854775807', '-9223372036854775808']) same(20, s);
  for (const s of ['0', '1.50', '-0.001', 'NaN', 'Infinity', '-Infinity', '123456789012345678901234567890.123456789']) same(1700, s);
  for (const s of ['0', '-0', '1.5', '1e+300', 'NaN', 'Infinity', '-Infinity', '1.401298464324817e-45']) same(701, s);
  for (const s of ['t', 'f']) same(16, s);
  for (const s of ['', 'plain', 'ünïcödé ✓ 𝄞', 'a\u0000b', 'é', 'abcé', 'abcdé', 'abcdefghijé', 'abcdefghijkl', 'abcdefghijklm']) same(25, s);
  same(2950, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  same(869, '192.168.0.1/24');
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (v) => same(20, v.toString())), { seed: 3 });
  fc.assert(fc.property(fc.integer(), (v) => same(23, String(v))), { seed: 4 });
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (v) => same(25, v)), { seed: 5 });
});

test('timestamp readers match the text parser on every shape (fast and fallback) and repeat values', () => {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  fc.assert(fc.property(fc.integer({ min: 1, max: 12000 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: -15, max: 15 }), fc.constantFrom('', ':30', ':00:53'), fc.boolean(), (y, m, d, secs, frac, digits, tz, tzRest, bc) => {
    const fracText = digits === 0 ? '' : '.' + String(frac).padStart(6, '0').slice(0, digits);
    const base = `${String(y).padStart(4, '0')}-${p2(m)}-${p2(d)} ${p2(Math.floor(secs / 3600))}:${p2(Math.floor(secs / 60) % 60)}:${p2(secs % 60)}${fracText}`;
    same(1114, base + (bc ? ' BC' : ''));
    same(1184, `${base}${tz < 0 ? '-' : '+'}${p2(Math.abs(tz))}${tzRest}${bc ? ' BC' : ''}`);
  }), { seed: 42, numRuns: 3000 });
  for (const s of ['infinity', '-infinity', '294276-12-31 23:59:59.999999', '4713-01-01 00:00:00 BC', '1900-01-01 00:00:00', '2262-04-12 00:00:00']) same(1114, s);
  // One reader per column remembers its last value: a repeat is the same value, a change is not stale.
  const reader = columnReader(resolver.cached(1184)!);
  const a = viaBytes(1184, '2024-05-06 07:08:09.123456+00', reader);
  assert.equal(viaBytes(1184, '2024-05-06 07:08:09.123456+00', reader), a);
  assert.deepEqual(viaBytes(1184, '2024-05-06 07:08:09.123457+00', reader), resolver.cached(1184)!.parse('2024-05-06 07:08:09.123457+00'));
});

test('latin1 text is cached per buffer and cleared on request', () => {
  const t = new Latin1Text();
  const b = Buffer.from('abcdef');
  assert.equal(t.slice(b, 1, 3), 'bc');
  b.write('xyz', 1);
  assert.equal(t.slice(b, 1, 3), 'bc');
  t.clear();
  assert.equal(t.slice(b, 1, 3), 'xy');
  assert.equal(t.slice(Buffer.from('0123'), 0, 2), '01');
  const long = Buffer.from('x'.repeat(100) + 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  assert.equal(t.own(long, 100, 136), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  assert.equal(t.own(long, 100, 104), 'a0ee');
  assert.equal(t.utf8(Buffer.from('--zé--'), 2, 5), 'zé');
});
