/**
 * The 128-bit hash-key space shared by every stream-log backend (Kinesis semantics): a
 * partition key's MD5 digest, read as an unsigned 128-bit big-endian integer, picks the shard
 * whose inclusive `[start, end]` range contains it. An `explicitHashKey` (decimal) overrides
 * the digest. Hash keys travel as 16-byte big-endian buffers on the hot path (compared with
 * `Buffer.compare`, no BigInt per record) and as decimal strings in descriptions.
 */
import { md5, md5Words } from './md5.ts';
import { HydrantError } from '../core/errors.ts';

/** 2^128 - 1, the largest hash key. */
export const MAX_HASH_KEY = (1n << 128n) - 1n;

/** An inclusive range of hash keys. */
export interface HashKeyRange {
  readonly start: bigint;
  readonly end: bigint;
}

/** A hash key that is not a decimal integer in 0..2^128-1. */
export class InvalidHashKeyError extends HydrantError {
  constructor(value: string) {
    super('INVALID_HASH_KEY', `explicit hash key ${JSON.stringify(value.slice(0, 60))} is not a decimal integer in 0..2^128-1; pass a decimal string such as "0" or "170141183460469231731687303715884105728".`);
  }
}

/** The MD5 digest of a partition key: its hash key as 16 big-endian bytes. */
export function hashKeyBytes(partitionKey: string): Buffer {
  return md5(partitionKey);
}

/** Byte-swaps a 32-bit word: MD5 state words are little-endian, hash keys big-endian. */
function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

const digest = new Int32Array(4);

/** Parses a decimal hash key; throws {@link InvalidHashKeyError} outside 0..2^128-1. */
export function parseHashKey(value: string): bigint {
  if (!/^[0-9]{1,39}$/.test(value)) throw new InvalidHashKeyError(value);
  const n = BigInt(value);
  if (n > MAX_HASH_KEY) throw new InvalidHashKeyError(value);
  return n;
}

/** A hash key as 16 big-endian bytes. */
export function hashKeyToBytes(key: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(key >> 64n, 0);
  b.writeBigUInt64BE(key & 0xffffffffffffffffn, 8);
  return b;
}

/** 16 big-endian bytes as a hash key. */
export function bytesToHashKey(bytes: Uint8Array): bigint {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  return (b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8);
}

/** The hash key of a partition key as a bigint (MD5, unsigned, big-endian). */
export function hashKeyOf(partitionKey: string): bigint {
  return bytesToHashKey(hashKeyBytes(partitionKey));
}

/**
 * Splits `[range.start, range.end]` into `count` contiguous, even ranges (the last takes the
 * remainder). `evenRanges(n)` on the whole space is how a new stream's shards are laid out.
 */
export function evenRanges(count: number, range: HashKeyRange = { start: 0n, end: MAX_HASH_KEY }): HashKeyRange[] {
  if (!Number.isInteger(count) || count < 1) throw new HydrantError('INVALID_SHARD_COUNT', `shard count must be a positive integer, got ${count}`);
  const width = range.end - range.start + 1n;
  const out: HashKeyRange[] = [];
  for (let i = 0n; i < BigInt(count); i++) {
    const start = range.start + (width * i) / BigInt(count);
    const end = range.start + (width * (i + 1n)) / BigInt(count) - 1n;
    out.push({ start, end });
  }
  return out;
}

/** True when two inclusive ranges share at least one key. */
export function rangesOverlap(a: HashKeyRange, b: HashKeyRange): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/**
 * Routes hash keys to shards by binary search over range starts held as four big-endian
 * 32-bit words each. Built once per shard layout; `route` costs one MD5 (in JS, see md5.ts)
 * plus ~log2(n) word compares, and allocates nothing.
 */
export class HashKeyRouter<T> {
  /** Range starts, 4 words each (most significant first). */
  readonly #starts: Uint32Array;
  readonly #targets: readonly T[];

  /** `entries` must cover the whole hash-key space without gaps or overlap. */
  constructor(entries: ReadonlyArray<{ readonly range: HashKeyRange; readonly target: T }>) {
    const sorted = [...entries].sort((a, b) => (a.range.start < b.range.start ? -1 : 1));
    let expect = 0n;
    for (const e of sorted) {
      if (e.range.start !== expect) throw new HydrantError('HASH_RANGE_GAP', `shard hash-key ranges do not cover the key space contiguously: expected a range starting at ${expect}, found ${e.range.start}`);
      expect = e.range.end + 1n;
    }
    if (expect !== MAX_HASH_KEY + 1n) throw new HydrantError('HASH_RANGE_GAP', `shard hash-key ranges end at ${expect - 1n}, not at 2^128-1`);
    this.#starts = new Uint32Array(sorted.length * 4);
    sorted.forEach((e, i) => {
      for (let k = 0; k < 4; k++) this.#starts[i * 4 + k] = Number((e.range.start >> BigInt(96 - 32 * k)) & 0xffffffffn);
    });
    this.#targets = sorted.map((e) => e.target);
  }

  /** The one target when a single range covers the whole space (no hashing needed). */
  get single(): T | undefined {
    return this.#targets.length === 1 ? this.#targets[0] : undefined;
  }

  /** The target owning the hash key whose big-endian words are w0..w3. */
  #routeWords(w0: number, w1: number, w2: number, w3: number): T {
    return this.#targets[this.#indexWords(w0, w1, w2, w3)] as T;
  }

  #indexWords(w0: number, w1: number, w2: number, w3: number): number {
    const s = this.#starts;
    let lo = 0;
    let hi = this.#targets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const o = mid * 4;
      // start(mid) <= key ?
      const a = s[o] as number;
      const b = s[o + 1] as number;
      const c = s[o + 2] as number;
      const le = a !== w0 ? a < w0 : b !== w1 ? b < w1 : c !== w2 ? c < w2 : (s[o + 3] as number) <= w3;
      if (le) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The target owning a 16-byte big-endian hash key. */
  routeBytes(key: Uint8Array): T {
    const b = Buffer.from(key.buffer, key.byteOffset, 16);
    return this.#routeWords(b.readUInt32BE(0), b.readUInt32BE(4), b.readUInt32BE(8), b.readUInt32BE(12));
  }

  /** The targets, in hash-key order ({@link routeIndex} indexes them). */
  get targets(): readonly T[] {
    return this.#targets;
  }

  /** Index into {@link targets} of the target owning a partition key. */
  routeIndex(partitionKey: string): number {
    if (this.#targets.length === 1) return 0;
    md5Words(partitionKey, digest);
    return this.#indexWords(bswap(digest[0] as number), bswap(digest[1] as number), bswap(digest[2] as number), bswap(digest[3] as number));
  }

  /** The target owning a partition key (or its explicit decimal hash key). */
  route(partitionKey: string, explicitHashKey?: string): T {
    if (this.#targets.length === 1) return this.#targets[0] as T;
    if (explicitHashKey !== undefined) return this.routeBytes(hashKeyToBytes(parseHashKey(explicitHashKey)));
    md5Words(partitionKey, digest);
    return this.#routeWords(bswap(digest[0] as number), bswap(digest[1] as number), bswap(digest[2] as number), bswap(digest[3] as number));
  }
}
