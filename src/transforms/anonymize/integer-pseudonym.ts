/**
 * Keyed pseudonyms for integers that stay integers of the same size and never collide.
 *
 * An HMAC token would turn an `int4` key into text (changing the column type) and truncating
 * it to 31 bits would make keys collide after ~65k rows, collapsing distinct rows. Instead a
 * keyed Feistel permutation (4 rounds; the round function is AES-128 under a key derived from
 * the secret with HMAC-SHA-256) maps each size tier onto itself:
 * int32 values to int32 values, other safe integers (|x| < 2^53) to other safe integers, other
 * int64 values to other int64 values. Each tier map is a bijection (cycle-walking keeps the
 * permutation inside the tier), so the whole map is one-to-one: distinct keys stay distinct,
 * and 42 maps to the same value whether a table stores it as int4 or int8, so joins still work.
 */
import { createCipheriv, createHmac, type Cipher } from 'node:crypto';

interface Tier {
  /** Distinguishes the tiers' round functions. */
  readonly id: number;
  /** Lowest and highest value of the tier's enclosing range. */
  readonly lo: bigint;
  readonly hi: bigint;
  /** Half the bits of the Feistel domain (domain size 2^(2*half) >= hi - lo + 1). */
  readonly half: number;
  /** A lower tier carved out of this range; values landing there walk on. */
  readonly inner?: Tier;
}

const INT32: Tier = { id: 32, lo: -(2n ** 31n), hi: 2n ** 31n - 1n, half: 16 };
const SAFE: Tier = { id: 53, lo: -(2n ** 53n - 1n), hi: 2n ** 53n - 1n, half: 27, inner: INT32 };
const INT64: Tier = { id: 64, lo: -(2n ** 63n), hi: 2n ** 63n - 1n, half: 32, inner: SAFE };

function inTier(x: bigint, t: Tier): boolean {
  return x >= t.lo && x <= t.hi;
}

/** Keyed permutation of integers; see the module doc. */
export class IntegerPseudonymizer {
  // One ECB cipher, reused: in ECB each 16-byte block is encrypted on its own, so `update` on
  // a long-lived cipher is a fast keyed PRF (an HMAC object per round costs ~10x more).
  readonly #aes: Cipher;
  readonly #block = Buffer.alloc(16);

  constructor(key: Buffer) {
    const k = createHmac('sha256', key).update('hydrant-int-pseudonym-aes-v1').digest().subarray(0, 16);
    this.#aes = createCipheriv('aes-128-ecb', k, null).setAutoPadding(false);
  }

  /** Round outputs of the int32 tier (4 rounds x 2^16 halves), built on first use. */
  #int32Rounds: Uint16Array | undefined;

  /** The pseudonym of `x`, or undefined when `x` is outside int64 (the caller tokenizes it as text). */
  map(x: bigint): bigint | undefined {
    if (x >= INT32.lo && x <= INT32.hi) return BigInt(this.#mapInt32(Number(x)));
    const tier = inTier(x, INT32) ? INT32 : inTier(x, SAFE) ? SAFE : inTier(x, INT64) ? INT64 : undefined;
    if (tier === undefined) return undefined;
    const size = tier.hi - tier.lo + 1n;
    let u = x - tier.lo;
    // Cycle-walk: the permutation of the 2^(2*half) domain restricted to this tier's own
    // values (range minus the inner tier) is again a permutation.
    for (;;) {
      u = this.#feistel(u, tier);
      if (u >= size) continue;
      const v = u + tier.lo;
      if (tier.inner !== undefined && inTier(v, tier.inner)) continue;
      return v;
    }
  }

  /** Pseudonym of a JavaScript number holding an integer; stays a safe integer. */
  mapNumber(x: number): number {
    if (x >= -2147483648 && x <= 2147483647) return this.#mapInt32(x);
    return Number(this.map(BigInt(x)));
  }

  /**
   * The int32 tier through precomputed round tables: the same permutation as the generic path
   * (same round inputs), but table lookups instead of a cipher call per round, since most keys
   * are in this tier.
   */
  #mapInt32(x: number): number {
    const t = (this.#int32Rounds ??= this.#buildInt32Rounds());
    const u = x + 2147483648;
    let l = Math.floor(u / 65536);
    let r = u % 65536;
    for (let round = 0; round < 4; round++) {
      const f = t[round * 65536 + r] as number;
      const nl = r;
      r = l ^ f;
      l = nl;
    }
    return l * 65536 + r - 2147483648;
  }

  #buildInt32Rounds(): Uint16Array {
    const blocks = Buffer.alloc(4 * 65536 * 16);
    for (let round = 0; round < 4; round++) {
      for (let r = 0; r < 65536; r++) {
        const o = (round * 65536 + r) * 16;
        blocks.writeUInt8(INT32.id, o);
        blocks.writeUInt8(round, o + 1);
        blocks.writeUInt32BE(r, o + 12);
      }
    }
    const out = this.#aes.update(blocks) as Buffer;
    const t = new Uint16Array(4 * 65536);
    // The generic path uses the low 16 bits of the block's first 8 bytes.
    for (let i = 0; i < t.length; i++) t[i] = out.readUInt16BE(i * 16 + 6);
    return t;
  }

  #feistel(u: bigint, t: Tier): bigint {
    const bits = BigInt(t.half);
    const mask = (1n << bits) - 1n;
    let l = u >> bits;
    let r = u & mask;
    for (let round = 0; round < 4; round++) {
      const f = this.#round(t.id, round, r) & mask;
      [l, r] = [r, l ^ f];
    }
    return (l << bits) | r;
  }

  #round(tier: number, round: number, r: bigint): bigint {
    const b = this.#block;
    b.writeUInt8(tier, 0);
    b.writeUInt8(round, 1);
    b.fill(0, 2, 8);
    b.writeBigUInt64BE(r, 8);
    return (this.#aes.update(b) as Buffer).readBigUInt64BE(0);
  }
}
