import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valueToJson } from '../../../../src/core/values.ts';
import { BINARY_DECODERS } from '../../../../src/sources/postgres/snapshot/binary-values.ts';
import { binaryJsonFor } from '../../../../src/sources/postgres/snapshot/binary-json.ts';
import { prng } from '../../../support/prng.ts';

const i64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};

test('binary field to JSON equals valueToJson of the decoded value (edges and seeded random fields)', () => {
  const seed = Number(process.env['HYDRANT_SEED'] ?? Date.now() % 1_000_000);
  console.log(`binary-json seed ${seed}`);
  const rnd = prng(seed);
  const edges64 = [0n, 1n, -1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n), 999_999_999n, 1_000_000_000n, 100_000_000n, -100_000_001n,
    8_053_315_200_000_000n - 946_684_800_000_000n, -946_684_800_000_000n, 848_629_514_470_335n];
  const fields = (oid: number): Buffer[] => {
    const out: Buffer[] = [];
    switch (oid) {
      case 16: return [Buffer.from([0]), Buffer.from([1])];
      case 20: case 1114: case 1184:
        for (const v of edges64) out.push(i64(v));
        for (let i = 0; i < 2000; i++) {
          const bits = Math.floor(rnd() * 64);
          const mag = BigInt(Math.floor(rnd() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(rnd() * 2 ** 32));
          const v = BigInt.asIntN(64, mag >> BigInt(64 - Math.max(bits, 1)));
          out.push(i64(rnd() < 0.5 ? v : -v));
        }
        return out;
      case 21: for (const v of [0, 1, -1, 32767, -32768, 1234]) { const b = Buffer.alloc(2); b.writeInt16BE(v); out.push(b); } return out;
      case 23: for (const v of [0, 1, -1, 2147483647, -2147483648, 999999999, 1000000000]) { const b = Buffer.alloc(4); b.writeInt32BE(v); out.push(b); } return out;
      case 18: case 19: case 25: case 1042: case 1043:
        for (const s of ['', 'plain', 'q"b\\s', 'tab\tnl\n\u0001', 'é中😀', 'x'.repeat(300)]) out.push(Buffer.from(s, 'utf8'));
        return out;
      default: return [];
    }
  };
  let checked = 0;
  for (const [oid, decode] of BINARY_DECODERS) {
    const toJson = binaryJsonFor(oid, decode);
    for (const f of fields(oid)) {
      // At an offset inside a larger buffer, as in a COPY chunk.
      const b = Buffer.concat([Buffer.from([9, 9, 9]), f, Buffer.from([7])]);
      assert.equal(toJson(b, 3, f.length), valueToJson(decode(b, 3, f.length)), `oid ${oid} field ${f.toString('hex')} (seed ${seed})`);
      checked++;
    }
  }
  assert.ok(checked > 6000);
});
