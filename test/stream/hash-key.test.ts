import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { evenRanges, hashKeyOf, HashKeyRouter, InvalidHashKeyError, MAX_HASH_KEY, parseHashKey } from '../../src/stream/hash-key.ts';
import { compareSequence, formatSequence, formatSequenceRun, InvalidSequenceError, parseSequence } from '../../src/stream/sequence.ts';
import { crc32, crc32Fallback, crc32Implementation, crc32Zlib } from '../../src/stream/embedded/crc32.ts';

test('hash key is the MD5 of the partition key as an unsigned 128-bit big-endian integer', () => {
  // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72
  assert.equal(hashKeyOf('abc'), 0x900150983cd24fb0d6963f7d28e17f72n);
  assert.equal(hashKeyOf('k'), BigInt('0x' + createHash('md5').update('k').digest('hex')));
});

test('even ranges cover 0..2^128-1 contiguously for any shard count', () => {
  for (const n of [1, 2, 3, 4, 7, 64, 1000]) {
    const r = evenRanges(n);
    assert.equal(r.length, n);
    assert.equal(r[0]!.start, 0n);
    assert.equal(r.at(-1)!.end, MAX_HASH_KEY);
    for (let i = 1; i < n; i++) assert.equal(r[i]!.start, r[i - 1]!.end + 1n);
  }
  // Kinesis lays out 2 shards at 2^127.
  assert.equal(evenRanges(2)[1]!.start, 1n << 127n);
});

test('router agrees with a plain BigInt range search for arbitrary keys and layouts (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.string(), { minLength: 1, maxLength: 50 }), (n, keys) => {
    const ranges = evenRanges(n);
    const router = new HashKeyRouter(ranges.map((range, i) => ({ range, target: i })));
    for (const k of keys) {
      const h = hashKeyOf(k);
      assert.equal(router.route(k), ranges.findIndex((r) => r.start <= h && h <= r.end));
    }
    assert.equal(router.route('ignored', '0'), 0);
    assert.equal(router.route('ignored', MAX_HASH_KEY.toString()), n - 1);
  }), { seed: 42, numRuns: 200 });
});

test('router refuses layouts with gaps; bad explicit hash keys are clear errors', () => {
  assert.throws(() => new HashKeyRouter([{ range: { start: 0n, end: 10n }, target: 0 }]), /2\^128-1/);
  assert.throws(() => new HashKeyRouter([{ range: { start: 5n, end: MAX_HASH_KEY }, target: 0 }]), /starting at 0/);
  assert.throws(() => parseHashKey('-1'), InvalidHashKeyError);
  assert.throws(() => parseHashKey((MAX_HASH_KEY + 1n).toString()), InvalidHashKeyError);
  assert.throws(() => parseHashKey('12abc'), InvalidHashKeyError);
});

test('sequences: fixed width, string order equals numeric order, compareSequence is numeric', () => {
  assert.equal(formatSequence(42), '00000000000000000042');
  assert.equal(parseSequence('00000000000000000042'), 42);
  const seqs = [1, 9, 10, 99, 100, 123456789, 2 ** 53 - 1].map(formatSequence);
  assert.deepEqual([...seqs].sort(), seqs);
  assert.ok(compareSequence('9', '10') < 0, 'numeric, not lexicographic, for other backends');
  assert.ok(compareSequence('49590338271490256608559692538361571095921575989136588898', '49590338271490256608559692540925702759324208523137515618') < 0);
  assert.equal(compareSequence('007', '7'), 0);
  assert.throws(() => compareSequence('1e3', '2'), InvalidSequenceError);
  assert.throws(() => parseSequence('99999999999999999999'), InvalidSequenceError);
});

test('formatSequenceRun gives the same strings as formatSequence across thousand boundaries (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 53 - 3000 }), fc.integer({ min: 0, max: 2500 }), fc.nat(5), (first, count, at) => {
    const out = new Array<string>(at + count).fill('-');
    formatSequenceRun(first, count, out, at);
    for (let i = 0; i < at; i++) if (out[i] !== '-') return false;
    for (let i = 0; i < count; i++) if (out[at + i] !== formatSequence(first + i)) return false;
    return true;
  }), { seed: 9 });
  const out: string[] = [];
  formatSequenceRun(998, 4, out);
  assert.deepEqual(out, ['00000000000000000998', '00000000000000000999', '00000000000000001000', '00000000000000001001']);
});

test('crc32: the addon, zlib and the table fallback agree (property), on views at any offset and on large blocks', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(40), (b, cut) => {
    const view = b.subarray(Math.min(cut, b.length));
    const split = Math.floor(view.length / 2);
    const continued = crc32(view.subarray(split), crc32(view.subarray(0, split)));
    return crc32(view) === crc32Fallback(view) && crc32Zlib(view) === crc32Fallback(view) && continued === crc32(view)
      && crc32Fallback(view.subarray(split), crc32Fallback(view.subarray(0, split))) === crc32(view) && crc32Zlib(view.subarray(split), crc32Zlib(view.subarray(0, split))) === crc32(view);
  }), { seed: 7 });
  assert.equal(crc32Fallback(Buffer.from('123456789')), 0xcbf43926);
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  assert.equal(crc32(big.subarray(3)), crc32Zlib(big.subarray(3)));
  // The fast implementation really runs where its binary exists (this project's CI machines).
  if (process.platform === 'linux' && process.arch === 'x64') assert.equal(crc32Implementation, 'addon');
});
