/**
 * Blocks: the unit a segment (format version 2) stores records in. One appended batch becomes
 * one block, or several when it is larger than the block limit; the records of a block are
 * consecutive sequences that share one arrival time, so the block stores the first sequence
 * and the arrival once and each record only its lengths, key and data.
 *
 * ```
 * block:  u32 body length | u32 CRC-32 of body
 *         | body: u64 first sequence | f64 arrival (epoch ms) | u32 record count
 *                 | u32 bytes of the record headers | record header × count | data × count
 * record header: u32 data length | u16 key length | key (UTF-8)
 * ```
 * The records' data lie back to back after all headers, so a batch that arrives packed in one
 * buffer (`appendPacked`) is copied into its block with one copy, not one per record.
 * One native CRC-32 per block replaces v1's one per record: a native call costs ~300 ns
 * whatever the size but runs at ~4 GB/s, so over a 100 KiB block it is ~50 ns per 200-byte
 * record, against ~170 ns for a per-record JS CRC. The price: damage makes a whole block
 * unservable instead of one record (see docs/stream.md).
 */
import { crc32 } from './crc32.ts';
import type { Slab, SlabPool } from './slab-pool.ts';
import type { PackedRecords, PutRecord } from '../stream-log.ts';

/** Length and checksum before each block body. */
export const BLOCK_HEADER_BYTES = 8;
/** Fixed part of a block body: first sequence, arrival, record count, header bytes. */
export const BLOCK_FIXED_BYTES = 24;
/** Per-record header inside a block: data length, key length (the key follows). */
export const RECORD_HEADER_BYTES = 6;
/** Default bound on a block's size (a single larger record gets a block of its own). */
export const DEFAULT_BLOCK_BYTES = 1 << 20;

/** A batch encoded into blocks, with where each block starts (candidate index points). */
export interface EncodedBatch {
  readonly buf: Buffer;
  /** Offsets of block starts within `buf`, and the first sequence of each. */
  readonly blocks: ReadonlyArray<{ readonly rel: number; readonly sequence: number }>;
  /** The pool slab `buf` lies in (when encoded with a pool): release it once `buf` is written. */
  readonly slab?: Slab;
}

/** The records of one batch as {@link encodeBatch} reads them: separate objects or one packed buffer. */
export interface BatchView {
  readonly count: number;
  key(i: number): string;
  dataLength(i: number): number;
  /** Copies the data of records `[from, to)`, back to back, into `b` at `o`. */
  copyData(from: number, to: number, b: Buffer, o: number): void;
}

/** A batch of {@link PutRecord}s. */
export class PutRecordsView implements BatchView {
  readonly #r: readonly PutRecord[];
  constructor(records: readonly PutRecord[]) {
    this.#r = records;
  }
  get count(): number {
    return this.#r.length;
  }
  key(i: number): string {
    return (this.#r[i] as PutRecord).partitionKey;
  }
  dataLength(i: number): number {
    return (this.#r[i] as PutRecord).data.length;
  }
  copyData(from: number, to: number, b: Buffer, o: number): void {
    for (let i = from; i < to; i++) {
      const d = (this.#r[i] as PutRecord).data;
      b.set(d, o);
      o += d.length;
    }
  }
}

/**
 * Some records of a {@link PackedRecords} batch (`pick`: their indexes in order; undefined =
 * all): no object or view per record, the data is copied straight from the packed buffer.
 */
export class PackedView implements BatchView {
  readonly #p: PackedRecords;
  readonly #bytes: Buffer;
  readonly #pick: Int32Array | undefined;
  readonly count: number;
  constructor(p: PackedRecords, pick?: Int32Array, count?: number) {
    this.#p = p;
    this.#bytes = Buffer.isBuffer(p.bytes) ? p.bytes : Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
    this.#pick = pick;
    this.count = pick === undefined ? p.count : (count as number);
  }
  #at(i: number): number {
    return this.#pick === undefined ? i : (this.#pick[i] as number);
  }
  key(i: number): string {
    return this.#p.partitionKeys[this.#at(i)] as string;
  }
  dataLength(i: number): number {
    const j = this.#at(i);
    return (this.#p.ends[j] as number) - (j === 0 ? 0 : (this.#p.ends[j - 1] as number));
  }
  /** The batch this view reads. */
  get packed(): PackedRecords {
    return this.#p;
  }
  /** True when the view holds every record of its batch in order (its data is one run). */
  get whole(): boolean {
    return this.#pick === undefined;
  }
  /** Where record `i`'s data starts in the packed bytes. */
  dataStart(i: number): number {
    const j = this.#at(i);
    return j === 0 ? 0 : (this.#p.ends[j - 1] as number);
  }
  /** Where the data of the records before `i` ends in the packed bytes (`i` ≥ 1). */
  dataEnd(i: number): number {
    return this.#p.ends[this.#at(i - 1)] as number;
  }
  /** The data of records `[from, to)` as one view of the packed bytes ({@link whole} views only). */
  dataSlice(from: number, to: number): Buffer {
    return this.#bytes.subarray(this.dataStart(from), this.dataEnd(to));
  }
  copyData(from: number, to: number, b: Buffer, o: number): void {
    const ends = this.#p.ends;
    // Runs of consecutive records are one copy (all of them when the batch goes to one shard).
    let i = from;
    while (i < to) {
      const j = this.#at(i);
      let k = i + 1;
      while (k < to && this.#at(k) === this.#at(k - 1) + 1) k++;
      const start = j === 0 ? 0 : (ends[j - 1] as number);
      const end = ends[this.#at(k - 1)] as number;
      b.set(this.#bytes.subarray(start, end), o);
      o += end - start;
      i = k;
    }
  }
}

/**
 * Encodes `records` (sequences `firstSequence..`, all arriving at `arrival`) into blocks of at
 * most `blockBytes` (unless one record alone is larger). Blocks are cut on the records' largest
 * possible size (a key's UTF-16 code unit never needs more than 3 UTF-8 bytes), so the real
 * block is never above the bound.
 */
export function encodeBatch(batch: readonly PutRecord[] | BatchView, firstSequence: number, arrival: number, blockBytes: number, pool?: SlabPool): EncodedBatch {
  const records: BatchView = Array.isArray(batch) ? new PutRecordsView(batch as readonly PutRecord[]) : (batch as BatchView);
  const n = records.count;
  // No block for no records: a block holds at least one (recovery treats an empty one as bad).
  if (n === 0) return { buf: Buffer.alloc(0), blocks: [] };
  const { cuts, size } = blockCuts(records, blockBytes);
  const carved = pool?.carve(size);
  const b = carved === undefined ? Buffer.allocUnsafe(size) : carved.slab.buf;
  const start = carved === undefined ? 0 : carved.start;
  const blocks: Array<{ rel: number; sequence: number }> = [];
  let o = start;
  let from = 0;
  const count = cuts === undefined ? 0 : cuts.length;
  for (let k = 0; k <= count; k++) {
    const to = k < count ? ((cuts as number[])[k] as number) : n;
    blocks.push({ rel: o - start, sequence: firstSequence + from });
    o = writeBlock(b, o, records, from, to, firstSequence + from, arrival);
    from = to;
  }
  if (carved === undefined) return { buf: b.subarray(0, o), blocks };
  pool?.commit(carved.slab, o);
  return { buf: b.subarray(start, o), blocks, slab: carved.slab };
}

/**
 * Where a batch's blocks start after the first (record indexes; usually none) and the bytes all
 * its blocks may take: cut on each record's largest possible size (a key's UTF-16 code unit never
 * needs more than 3 UTF-8 bytes), so no real block is above `blockBytes` unless one record is.
 */
function blockCuts(records: BatchView, blockBytes: number): { cuts: number[] | undefined; size: number } {
  const n = records.count;
  let cuts: number[] | undefined;
  let size = BLOCK_HEADER_BYTES + BLOCK_FIXED_BYTES;
  let inBlock = BLOCK_HEADER_BYTES + BLOCK_FIXED_BYTES;
  for (let i = 0; i < n; i++) {
    const max = RECORD_HEADER_BYTES + records.key(i).length * 3 + records.dataLength(i);
    if (inBlock + max > blockBytes && inBlock > BLOCK_HEADER_BYTES + BLOCK_FIXED_BYTES) {
      (cuts ??= []).push(i);
      size += BLOCK_HEADER_BYTES + BLOCK_FIXED_BYTES;
      inBlock = BLOCK_HEADER_BYTES + BLOCK_FIXED_BYTES;
    }
    inBlock += max;
    size += max;
  }
  return { cuts, size };
}

/** Writes records `[from, to)` as one block at `o`; returns the offset after it. */
function writeBlock(b: Buffer, o: number, records: BatchView, from: number, to: number, first: number, arrival: number): number {
  const { end, data } = writeHeaders(b, o, records, from, to, first, arrival);
  records.copyData(from, to, b, end);
  const body = o + BLOCK_HEADER_BYTES;
  b.writeUInt32LE(end + data - body, o);
  b.writeUInt32LE(crc32(b.subarray(body, end + data)), o + 4);
  return end + data;
}

/**
 * Writes the fixed part and the record headers of the block of records `[from, to)` at `o`
 * (not its length and checksum, which cover the data); returns where the headers end and how
 * many data bytes the records have.
 */
function writeHeaders(b: Buffer, o: number, records: BatchView, from: number, to: number, first: number, arrival: number): { end: number; data: number } {
  const body = o + BLOCK_HEADER_BYTES;
  const headers = body + BLOCK_FIXED_BYTES;
  let p = headers;
  let data = 0;
  for (let i = from; i < to; i++) {
    const len = records.dataLength(i);
    p = writeRecordHeader(b, p, records.key(i), len);
    data += len;
  }
  writeFixed(b, body, first, arrival, to - from, p - headers);
  return { end: p, data };
}

/** Writes one record header (data length, key length, key) at `p`; returns the offset after it. */
function writeRecordHeader(b: Buffer, p: number, key: string, len: number): number {
  const keyBytes = writeKey(b, p + RECORD_HEADER_BYTES, key);
  // Direct byte stores: Buffer's write methods check their arguments, which costs more
  // than the stores for these few fields, once per record.
  b[p] = len;
  b[p + 1] = len >>> 8;
  b[p + 2] = len >>> 16;
  b[p + 3] = len >>> 24;
  b[p + 4] = keyBytes;
  b[p + 5] = keyBytes >>> 8;
  return p + RECORD_HEADER_BYTES + keyBytes;
}

/** The fixed part of a block body: first sequence, arrival, record count, header bytes. */
function writeFixed(b: Buffer, body: number, first: number, arrival: number, count: number, headerBytes: number): void {
  b.writeUInt32LE(first % 0x100000000, body);
  b.writeUInt32LE(Math.floor(first / 0x100000000), body + 4);
  b.writeDoubleLE(arrival, body + 8);
  b.writeUInt32LE(count, body + 16);
  b.writeUInt32LE(headerBytes, body + 20);
}

/**
 * {@link writeHeaders} for records `[from, to)` of a whole packed batch, reading its keys and
 * ends directly (no view call per field); returns where the headers end.
 */
function writeWholeHeaders(b: Buffer, o: number, keys: readonly string[], ends: ArrayLike<number>, from: number, to: number, first: number, arrival: number): number {
  const body = o + BLOCK_HEADER_BYTES;
  const headers = body + BLOCK_FIXED_BYTES;
  let p = headers;
  let prev = from === 0 ? 0 : (ends[from - 1] as number);
  for (let i = from; i < to; i++) {
    const end = ends[i] as number;
    p = writeRecordHeader(b, p, keys[i] as string, end - prev);
    prev = end;
  }
  writeFixed(b, body, first, arrival, to - from, p - headers);
  return p;
}

/** A batch encoded as parts to write back to back: block headers in a slab, data where it lies. */
export interface EncodedParts {
  readonly parts: Buffer[];
  /** Total bytes of `parts`. */
  readonly length: number;
  /** Offsets of block starts from the first part's start, and the first sequence of each. */
  readonly blocks: ReadonlyArray<{ readonly rel: number; readonly sequence: number }>;
  /** The pool slab the header parts lie in: release it once the parts are written. */
  readonly slab?: Slab;
}

/**
 * {@link encodeBatch} for a whole packed batch without copying its data: each block becomes two
 * parts, its header (length, checksum, fixed part, record headers; carved from `pool`) and its
 * records' data as a view of the packed buffer, written together by one `writev`. The bytes on
 * disk are exactly {@link encodeBatch}'s (the checksum runs over the header part and continues
 * over the data). Saves copying every appended byte once (~30 ns per 200-byte record here).
 * The packed buffer must stay unchanged until the write returned (the append's promise; see
 * `StreamLog.append`).
 */
export function encodeBatchParts(records: PackedView, firstSequence: number, arrival: number, blockBytes: number, pool: SlabPool): EncodedParts {
  const n = records.count;
  if (n === 0) return { parts: [], length: 0, blocks: [] };
  const p = records.packed;
  const keys = p.partitionKeys;
  const ends = p.ends;
  const dataBytes = records.dataEnd(n) - records.dataStart(0);
  // The usual batch fits one block: check that from the keys' lengths alone, without the
  // per-record bound of blockCuts (two view calls per record).
  let keyChars = 0;
  for (let i = 0; i < n; i++) keyChars += (keys[i] as string).length;
  const one = BLOCK_HEADER_BYTES + BLOCK_FIXED_BYTES + n * RECORD_HEADER_BYTES + keyChars * 3 + dataBytes;
  const { cuts, size } = one <= blockBytes ? { cuts: undefined, size: one } : blockCuts(records, blockBytes);
  const carved = pool.carve(size - dataBytes);
  const b = carved.slab.buf;
  const parts: Buffer[] = [];
  const blocks: Array<{ rel: number; sequence: number }> = [];
  let o = carved.start;
  let rel = 0;
  let from = 0;
  const count = cuts === undefined ? 0 : cuts.length;
  for (let k = 0; k <= count; k++) {
    const to = k < count ? ((cuts as number[])[k] as number) : n;
    blocks.push({ rel, sequence: firstSequence + from });
    const end = writeWholeHeaders(b, o, keys, ends, from, to, firstSequence + from, arrival);
    const body = o + BLOCK_HEADER_BYTES;
    const dataPart = records.dataSlice(from, to);
    const data = dataPart.length;
    b.writeUInt32LE(end + data - body, o);
    b.writeUInt32LE(crc32(dataPart, crc32(b.subarray(body, end))), o + 4);
    parts.push(b.subarray(o, end), dataPart);
    rel += end - o + data;
    o = end;
    from = to;
  }
  pool.commit(carved.slab, o);
  return { parts, length: rel, blocks, slab: carved.slab };
}

/**
 * Writes `key` as UTF-8 at `o`; returns its byte length. Partition keys are short and nearly
 * always ASCII, where a plain byte loop beats `Buffer.write` (a native call plus argument
 * checks); any other code unit hands the whole key to `Buffer.write`, so the bytes on disk are
 * the same either way.
 */
function writeKey(b: Buffer, o: number, key: string): number {
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return b.write(key, o, 'utf8');
    b[o + i] = c;
  }
  return n;
}

/** Outcome of looking at the bytes at one offset. */
export type BlockCheck =
  | { readonly kind: 'ok'; readonly end: number; readonly first: number; readonly count: number; readonly arrival: number }
  | { readonly kind: 'short' }
  | { readonly kind: 'bad'; readonly reason: string };

/**
 * Checks the block at `o` in `b` up to `limit`: length, checksum, and that its records exactly
 * fill the body (so a reader can trust every record boundary once this passed).
 */
export function checkBlock(b: Buffer, o: number, limit: number = b.length): BlockCheck {
  if (o + BLOCK_HEADER_BYTES > limit) return { kind: 'short' };
  const bodyLen = b.readUInt32LE(o);
  if (bodyLen < BLOCK_FIXED_BYTES) return { kind: 'bad', reason: `block body length ${bodyLen} is below the minimum ${BLOCK_FIXED_BYTES}` };
  const body = o + BLOCK_HEADER_BYTES;
  const end = body + bodyLen;
  if (end > limit) return { kind: 'short' };
  if (crc32(b.subarray(body, end)) !== b.readUInt32LE(o + 4)) return { kind: 'bad', reason: 'block checksum mismatch' };
  const count = b.readUInt32LE(body + 16);
  const walked = walkRecords(b, body, end, count);
  if (walked !== undefined) return { kind: 'bad', reason: walked };
  return { kind: 'ok', end, first: readU64(b, body), count, arrival: b.readDoubleLE(body + 8) };
}

/**
 * Follows the `count` record headers of the block body at `body` (ending at `end`); a reason
 * when they do not exactly fill the header area or their data does not exactly fill the rest.
 */
export function walkRecords(b: Buffer, body: number, end: number, count: number): string | undefined {
  if (count < 1) return 'block holds no records';
  let p = body + BLOCK_FIXED_BYTES;
  const dataStart = p + b.readUInt32LE(body + 20);
  if (dataStart > end) return 'record headers run past the block end';
  let data = 0;
  for (let i = 0; i < count; i++) {
    if (p + RECORD_HEADER_BYTES > dataStart) return `record ${i} of ${count} starts past the header area`;
    data += b.readUInt32LE(p);
    p += RECORD_HEADER_BYTES + b.readUInt16LE(p + 4);
    if (p > dataStart) return `record ${i} of ${count} runs past the header area`;
  }
  if (p !== dataStart) return `${dataStart - p} bytes after the last record header of the block`;
  return dataStart + data === end ? undefined : `record data ${dataStart + data > end ? 'runs past' : 'stops before'} the block end`;
}

/** Reads a u64 that the log keeps below 2^53. */
export function readU64(b: Buffer, o: number): number {
  return b.readUInt32LE(o + 4) * 0x100000000 + b.readUInt32LE(o);
}
