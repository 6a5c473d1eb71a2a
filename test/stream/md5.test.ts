import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { md5 } from '../../src/stream/md5.ts';
import { HashKeyRouter, evenRanges, hashKeyOf } from '../../src/stream/hash-key.ts';
import { prng } from '../support/prng.ts';

test('md5 equals node:crypto for every length around the block boundaries', () => {
  for (let len = 0; len <= 200; len++) {
    const s = 'k'.repeat(len);
    assert.deepEqual(md5(s), hash('md5', s, 'buffer'), `length ${len}`);
  }
});

test('md5 equals node:crypto on random keys (ASCII, multi-byte, astral, lone surrogates, long)', () => {
  const seed = Number(process.env['HYDRANT_SEED'] ?? Date.now() % 1_000_000);
  console.log(`md5 seed ${seed}`);
  const rnd = prng(seed);
  const alphabet = ['a', 'Z', '0', ':', '{', '"', 'é', 'ß', '中', '😀', '\ud800', '\udfff', '\u0000', '\u007f', '\u0080', '\u07ff', '\u0800', '\uffff'];
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rnd() * (i % 10 === 0 ? 800 : 80));
    let s = '';
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    assert.deepEqual(md5(s), hash('md5', s, 'buffer'), `key ${JSON.stringify(s)} (seed ${seed})`);
  }
});

test('the router sends every key to the shard whose range holds its MD5 hash key', () => {
  const ranges = evenRanges(7);
  const router = new HashKeyRouter(ranges.map((range, i) => ({ range, target: i })));
  for (let i = 0; i < 5000; i++) {
    const key = `public.t:{"id":{"$i":"${i * 7919}"}}`;
    const h = hashKeyOf(key);
    const want = ranges.findIndex((r) => r.start <= h && h <= r.end);
    assert.equal(router.route(key), want, key);
  }
  // Range starts themselves and their neighbours, through explicit hash keys.
  for (const [i, r] of ranges.entries()) {
    assert.equal(router.route('x', r.start.toString()), i);
    assert.equal(router.route('x', r.end.toString()), i);
  }
});
