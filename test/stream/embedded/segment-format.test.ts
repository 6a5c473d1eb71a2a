import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { BODY_FIXED_BYTES, FRAME_HEADER_BYTES, checkFrame, maxFrameSize, writeFrame } from '../../../src/stream/embedded/segment-format.ts';

/** The frame layout spelled out independently of writeFrame: u32 len | u32 crc | u64 seq | f64 arrival | u16 key len | key | data. */
function referenceFrame(sequence: number, arrival: number, key: string, data: Uint8Array): Buffer {
  const k = Buffer.from(key, 'utf8');
  const body = Buffer.alloc(BODY_FIXED_BYTES + k.length + data.length);
  body.writeBigUInt64LE(BigInt(sequence), 0);
  body.writeDoubleLE(arrival, 8);
  body.writeUInt16LE(k.length, 16);
  k.copy(body, BODY_FIXED_BYTES);
  body.set(data, BODY_FIXED_BYTES + k.length);
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

/** Small seeded PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ASCII, 2- and 3-byte UTF-8, a surrogate pair (4 bytes) and lone surrogates (written as U+FFFD).
const UNITS = ['a', 'Z', '0', '-', '\x7f', '\x00', 'é', 'ß', '€', '中', '😀', '\ud800', '\udfff'];

test('writeFrame writes the documented bytes for ASCII and non-ASCII keys, packed back to back', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (rerun with SEED=${seed})`);
  const rand = rng(seed);
  for (let round = 0; round < 200; round++) {
    const records = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => {
      const len = 1 + Math.floor(rand() * 40);
      const ascii = rand() < 0.5; // half the keys are pure ASCII (the fast path), half mixed
      let key = '';
      while (key.length < len) key += ascii ? String.fromCharCode(0x20 + Math.floor(rand() * 95)) : (UNITS[Math.floor(rand() * UNITS.length)] as string);
      const data = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
      return { key, data };
    });
    const buf = Buffer.alloc(records.reduce((s, r) => s + maxFrameSize(r.key.length, r.data.length), 0), 0xaa);
    const first = 1 + Math.floor(rand() * 2 ** 52);
    const arrival = 1.7e12 + rand() * 1e10;
    let o = 0;
    for (let i = 0; i < records.length; i++) o = writeFrame(buf, o, first + i, arrival, records[i]!.key, records[i]!.data);
    const expected = Buffer.concat(records.map((r, i) => referenceFrame(first + i, arrival, r.key, r.data)));
    assert.deepEqual(buf.subarray(0, o), expected, `seed ${seed} round ${round}`);
    let at = 0;
    for (let i = 0; i < records.length; i++) {
      const c = checkFrame(buf, at, o);
      assert.equal(c.kind, 'ok');
      if (c.kind === 'ok') {
        assert.equal(c.sequence, first + i);
        at = c.end;
      }
    }
    assert.equal(at, o);
  }
});
