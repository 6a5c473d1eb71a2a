import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { BLOCK_FIXED_BYTES, BLOCK_HEADER_BYTES, checkBlock, encodeBatch, encodeBatchParts, PackedView } from '../../../src/stream/embedded/block-format.ts';
import { SlabPool } from '../../../src/stream/embedded/slab-pool.ts';
import { decodeSegmentHeader, encodeSegmentHeader, SEGMENT_VERSION } from '../../../src/stream/embedded/segment-format.ts';
import { prng } from '../../support/prng.ts';

/**
 * The block layout spelled out independently of encodeBatch:
 * u32 body len | u32 crc(body) | body: u64 first seq | f64 arrival | u32 count | (u32 data len | u16 key len | key | data)*
 */
function referenceBlock(first: number, arrival: number, records: ReadonlyArray<{ key: string; data: Uint8Array }>): Buffer {
  // All record headers (data length, key length, key), then all data back to back.
  const headers = Buffer.concat(records.map((r) => {
    const k = Buffer.from(r.key, 'utf8');
    const h = Buffer.alloc(6);
    h.writeUInt32LE(r.data.length, 0);
    h.writeUInt16LE(k.length, 4);
    return Buffer.concat([h, k]);
  }));
  const fixed = Buffer.alloc(BLOCK_FIXED_BYTES);
  fixed.writeBigUInt64LE(BigInt(first), 0);
  fixed.writeDoubleLE(arrival, 8);
  fixed.writeUInt32LE(records.length, 16);
  fixed.writeUInt32LE(headers.length, 20);
  const body = Buffer.concat([fixed, headers, ...records.map((r) => r.data)]);
  const head = Buffer.alloc(BLOCK_HEADER_BYTES);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}


// ASCII, 2- and 3-byte UTF-8, a surrogate pair (4 bytes) and lone surrogates (written as U+FFFD).
const UNITS = ['a', 'Z', '0', '-', '\x7f', '\x00', 'é', 'ß', '€', '中', '😀', '\ud800', '\udfff'];

test('encodeBatch writes the documented block bytes for ASCII and non-ASCII keys, split at the block bound', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (rerun with SEED=${seed})`);
  const rand = prng(seed);
  for (let round = 0; round < 200; round++) {
    const records = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => {
      const len = 1 + Math.floor(rand() * 40);
      const ascii = rand() < 0.5; // half the keys are pure ASCII (the fast path), half mixed
      let key = '';
      while (key.length < len) key += ascii ? String.fromCharCode(0x20 + Math.floor(rand() * 95)) : (UNITS[Math.floor(rand() * UNITS.length)] as string);
      const data = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
      return { partitionKey: key, data };
    });
    const blockBytes = rand() < 0.5 ? 1 << 20 : 64 + Math.floor(rand() * 1200);
    const first = 1 + Math.floor(rand() * 2 ** 52);
    const arrival = 1.7e12 + rand() * 1e10;
    const { buf, blocks } = encodeBatch(records, first, arrival, blockBytes);
    // Rebuild the expected blocks from the cut points encodeBatch reports, then check each
    // block's bounds independently: never above blockBytes unless it holds a single record.
    const expected: Buffer[] = [];
    for (let k = 0; k < blocks.length; k++) {
      const from = blocks[k]!.sequence - first;
      const to = k + 1 < blocks.length ? blocks[k + 1]!.sequence - first : records.length;
      assert.ok(to > from, 'no empty block');
      const block = referenceBlock(first + from, arrival, records.slice(from, to).map((r) => ({ key: r.partitionKey, data: r.data })));
      assert.equal(blocks[k]!.rel, expected.reduce((s, b) => s + b.length, 0));
      assert.ok(block.length <= blockBytes || to - from === 1, `block of ${to - from} records is ${block.length} bytes, above ${blockBytes}`);
      expected.push(block);
    }
    assert.equal(blocks[0]!.sequence, first);
    assert.deepEqual(buf, Buffer.concat(expected), `seed ${seed} round ${round}`);
    let at = 0;
    for (const b of blocks) {
      assert.equal(b.rel, at);
      const c = checkBlock(buf, at);
      assert.equal(c.kind, 'ok');
      if (c.kind === 'ok') {
        assert.equal(c.first, b.sequence);
        assert.equal(c.arrival, arrival);
        at = c.end;
      }
    }
    assert.equal(at, buf.length);
  }
});

test('a 200-record batch of small records is one block; a record above the bound gets its own', () => {
  const small = Array.from({ length: 200 }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.alloc(100, i) }));
  assert.equal(encodeBatch(small, 1, 0, 1 << 20).blocks.length, 1);
  const big = [small[0]!, { partitionKey: 'big', data: Buffer.alloc(5000, 1) }, small[1]!];
  const { buf, blocks } = encodeBatch(big, 10, 0, 1024);
  assert.deepEqual(blocks.map((b) => b.sequence), [10, 11, 12]);
  assert.equal(checkBlock(buf, blocks[1]!.rel).kind, 'ok');
});

test('checkBlock: a cut block is short, a flipped bit is bad, record headers must fill the body exactly', () => {
  const { buf } = encodeBatch([{ partitionKey: 'a', data: Buffer.from('hello') }, { partitionKey: 'b', data: Buffer.from('world') }], 5, 1, 1 << 20);
  assert.equal(checkBlock(buf, 0).kind, 'ok');
  assert.equal(checkBlock(buf.subarray(0, buf.length - 1), 0).kind, 'short');
  assert.equal(checkBlock(buf.subarray(0, 5), 0).kind, 'short');
  for (let i = 0; i < buf.length; i++) {
    const copy = Buffer.from(buf);
    copy[i] = copy[i]! ^ 0x10;
    assert.notEqual(checkBlock(copy, 0).kind, 'ok', `flipped byte ${i}`);
  }
  // A record count that does not match the body, with a valid checksum: structure is checked too.
  const lie = Buffer.from(buf);
  lie.writeUInt32LE(3, BLOCK_HEADER_BYTES + 16);
  lie.writeUInt32LE(crc32(lie.subarray(BLOCK_HEADER_BYTES)), 4);
  const c = checkBlock(lie, 0);
  assert.equal(c.kind, 'bad');
  assert.match(c.kind === 'bad' ? c.reason : '', /record 2 of 3/);
});

test('segment header carries the format version; another version is reported, not decoded', () => {
  const h = encodeSegmentHeader(42, 1234);
  assert.deepEqual(decodeSegmentHeader(h), { baseSequence: 42, createdAt: 1234 });
  assert.equal(h.readUInt16LE(4), SEGMENT_VERSION);
  assert.equal(SEGMENT_VERSION, 2);
  const v1 = Buffer.from(h);
  v1.writeUInt16LE(1, 4);
  v1.writeUInt32LE(crc32(v1.subarray(0, 28)), 28);
  assert.deepEqual(decodeSegmentHeader(v1), { otherVersion: 1 });
  v1[5] = 0xff; // damaged header: a reason, not a version
  assert.equal(typeof decodeSegmentHeader(v1), 'string');
});

test('encodeBatchParts (block headers apart, data where it lies) writes exactly the bytes encodeBatch writes', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (rerun with SEED=${seed})`);
  const rand = prng(seed);
  const pool = new SlabPool();
  for (let round = 0; round < 200; round++) {
    const n = Math.floor(rand() * 40);
    const keys = Array.from({ length: n }, (_, i) => (rand() < 0.7 ? `k${i}` : `${UNITS[Math.floor(rand() * UNITS.length)]}${i}`));
    const datas = Array.from({ length: n }, () => Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256))));
    const lead = Buffer.from('prefix that is not part of the batch');
    const bytes = Buffer.concat([lead, ...datas]).subarray(lead.length);
    let end = 0;
    const packed = { count: n, bytes, ends: datas.map((d) => (end += d.length)), partitionKeys: keys };
    const blockBytes = rand() < 0.5 ? 1 << 20 : 64 + Math.floor(rand() * 1200);
    const first = 1 + Math.floor(rand() * 2 ** 40);
    const arrival = 1.7e12 + rand() * 1e10;
    const whole = encodeBatch(new PackedView(packed), first, arrival, blockBytes);
    const parts = encodeBatchParts(new PackedView(packed), first, arrival, blockBytes, pool);
    assert.deepEqual(Buffer.concat(parts.parts), whole.buf, `seed ${seed} round ${round}`);
    assert.equal(parts.length, whole.buf.length);
    assert.deepEqual(parts.blocks, whole.blocks);
    if (parts.slab !== undefined) pool.release(parts.slab);
  }
});
