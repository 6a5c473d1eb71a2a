/**
 * The 128-bit hash-key space shared by every stream-log backend (Kinesis semantics): a
 * partition key's MD5 digest, read as an unsigned 128-bit big-endian integer, picks the shard
 * whose inclusive `[start, end]` range contains it. An `explicitHashKey` (decimal) overrides
 * the digest. Hash keys travel as 16-byte big-endian buffers on the hot path (compared with
 * `Buffer.compare`, no BigInt per record) and as decimal strings in descriptions.
 */
import { hash } from 'node:crypto';
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
  return hash('md5', partitionKey, 'buffer');
}

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
 * Routes hash keys to shards by binary search over range starts held as 16-byte buffers.
 * Built once per shard layout; `route` costs one MD5 plus ~log2(n) buffer compares.
 */
export class HashKeyRouter<T> {
  readonly #starts: readonly Buffer[];
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
    this.#starts = sorted.map((e) => hashKeyToBytes(e.range.start));
    this.#targets = sorted.map((e) => e.target);
  }

  /** The one target when a single range covers the whole space (no hashing needed). */
  get single(): T | undefined {
    return this.#targets.length === 1 ? this.#targets[0] : undefined;
  }

  /** The target owning a 16-byte big-endian hash key. */
  routeBytes(key: Uint8Array): T {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Buffer.compare(this.#starts[mid] as Buffer, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return this.#targets[lo] as T;
  }

  /** The target owning a partition key (or its explicit decimal hash key). */
  route(partitionKey: string, explicitHashKey?: string): T {
    if (this.#targets.length === 1) return this.#targets[0] as T;
    return this.routeBytes(explicitHashKey === undefined ? hashKeyBytes(partitionKey) : hashKeyToBytes(parseHashKey(explicitHashKey)));
  }
}
