/**
 * On-disk formats of the embedded log, all little-endian and versioned.
 *
 * Segment file `<base sequence, 20 digits>.seg`:
 * ```
 * header (32 bytes): magic "HYSG" | u16 version=1 | u16 header length=32 | u64 base sequence
 *                    | f64 created (epoch ms) | u32 reserved | u32 CRC-32 of bytes 0..27
 * frame, repeated:   u32 body length | u32 CRC-32 of body
 *                    | body: u64 sequence | f64 arrival (epoch ms) | u16 key length | key (UTF-8) | data
 * ```
 * Index file `<base>.idx`, written when a segment is sealed (rebuilt by a scan when missing):
 * ```
 * header (48 bytes): magic "HYIX" | u16 version=1 | u16 reserved | u32 entry count | u32 CRC-32 of bytes 16..end
 *                    | f64 last sequence | f64 last arrival | f64 record count | f64 data end offset
 * entry (24 bytes):  f64 sequence | f64 arrival | f64 file offset   (sparse: one per ~64 KiB)
 * ```
 */
import { crc32, crc32Range } from './crc32.ts';

/** Segment header magic. */
export const SEGMENT_MAGIC = 0x47535948; // "HYSG" read as u32 LE
/** Segment format version written and read. */
export const SEGMENT_VERSION = 1;
/** Bytes before the first frame of a segment. */
export const SEGMENT_HEADER_BYTES = 32;
/** Frame length and checksum before each body. */
export const FRAME_HEADER_BYTES = 8;
/** Fixed part of a frame body: sequence, arrival, key length. */
export const BODY_FIXED_BYTES = 18;
/** Index file magic. */
export const INDEX_MAGIC = 0x58495948; // "HYIX"
/** Index format version written and read. */
export const INDEX_VERSION = 1;
/** Bytes before the first index entry. */
export const INDEX_HEADER_BYTES = 48;
/** Bytes per index entry. */
export const INDEX_ENTRY_BYTES = 24;

/** One sparse index point: the frame at `offset` holds `sequence`, which arrived at `arrival`. */
export interface IndexEntry {
  readonly sequence: number;
  readonly arrival: number;
  readonly offset: number;
}

/** Encodes a segment header. */
export function encodeSegmentHeader(baseSequence: number, createdAt: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt16LE(SEGMENT_VERSION, 4);
  b.writeUInt16LE(SEGMENT_HEADER_BYTES, 6);
  writeU64(b, 8, baseSequence);
  b.writeDoubleLE(createdAt, 16);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/** Decodes a segment header; returns a reason string when it is not a valid v1 header. */
export function decodeSegmentHeader(b: Buffer): { baseSequence: number; createdAt: number } | string {
  if (b.length < SEGMENT_HEADER_BYTES) return `header is ${b.length} bytes, expected ${SEGMENT_HEADER_BYTES}`;
  if (b.readUInt32LE(0) !== SEGMENT_MAGIC) return 'bad magic (not a Hydrant segment file)';
  if (b.readUInt32LE(28) !== crc32(b.subarray(0, 28))) return 'header checksum mismatch';
  const version = b.readUInt16LE(4);
  if (version !== SEGMENT_VERSION) return `unsupported segment format version ${version} (this Hydrant reads version ${SEGMENT_VERSION}); upgrade Hydrant`;
  return { baseSequence: readU64(b, 8), createdAt: b.readDoubleLE(16) };
}

/** Bytes a record takes on disk. */
export function frameSize(keyBytes: number, dataBytes: number): number {
  return FRAME_HEADER_BYTES + BODY_FIXED_BYTES + keyBytes + dataBytes;
}

/** Most bytes a frame can take: a UTF-16 code unit never needs more than 3 UTF-8 bytes. */
export function maxFrameSize(keyChars: number, dataBytes: number): number {
  return frameSize(keyChars * 3, dataBytes);
}

/**
 * Writes one frame at `o` (the caller sized `b` with {@link maxFrameSize}); returns the offset
 * after it. The key's UTF-8 length comes from writing it, saving a separate byteLength pass.
 */
export function writeFrame(b: Buffer, o: number, sequence: number, arrival: number, key: string, data: Uint8Array): number {
  const bodyStart = o + FRAME_HEADER_BYTES;
  const keyBytes = writeKey(b, bodyStart + BODY_FIXED_BYTES, key);
  const bodyLen = BODY_FIXED_BYTES + keyBytes + data.length;
  // Direct byte stores: the Buffer write methods each check their arguments, which cost
  // more than the stores for these few fixed fields, once per record.
  put32(b, bodyStart, sequence >>> 0);
  put32(b, bodyStart + 4, Math.floor(sequence / 0x100000000));
  b.writeDoubleLE(arrival, bodyStart + 8);
  b[bodyStart + 16] = keyBytes;
  b[bodyStart + 17] = keyBytes >>> 8;
  b.set(data, bodyStart + BODY_FIXED_BYTES + keyBytes);
  put32(b, o, bodyLen);
  put32(b, o + 4, crc32Range(b, bodyStart, bodyStart + bodyLen));
  return bodyStart + bodyLen;
}

/** Stores the low 32 bits of `n` little-endian at `o` (`o + 4` is within `b`). */
function put32(b: Buffer, o: number, n: number): void {
  b[o] = n;
  b[o + 1] = n >>> 8;
  b[o + 2] = n >>> 16;
  b[o + 3] = n >>> 24;
}

/**
 * Writes `key` as UTF-8 at `o`; returns its byte length. Partition keys are short and nearly
 * always ASCII, where a plain byte loop beats `Buffer.write` (a native call plus argument
 * checks, ~80 ns per record in an append profile); any other code unit hands the whole key to
 * `Buffer.write`, so the bytes on disk are the same either way.
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
export type FrameCheck =
  | { readonly kind: 'ok'; readonly end: number; readonly sequence: number; readonly arrival: number }
  | { readonly kind: 'short' }
  | { readonly kind: 'bad'; readonly reason: string };

/** Checks the frame at `o` in `b` (bytes of `b` are the file from `b`'s offset 0). */
export function checkFrame(b: Buffer, o: number, limit: number = b.length): FrameCheck {
  if (o + FRAME_HEADER_BYTES > limit) return { kind: 'short' };
  const bodyLen = b.readUInt32LE(o);
  if (bodyLen < BODY_FIXED_BYTES) return { kind: 'bad', reason: `frame body length ${bodyLen} is below the minimum ${BODY_FIXED_BYTES}` };
  const end = o + FRAME_HEADER_BYTES + bodyLen;
  if (end > limit) return { kind: 'short' };
  const body = o + FRAME_HEADER_BYTES;
  if (crc32Range(b, body, end) !== b.readUInt32LE(o + 4)) return { kind: 'bad', reason: 'record checksum mismatch' };
  if (BODY_FIXED_BYTES + b.readUInt16LE(body + 16) > bodyLen) return { kind: 'bad', reason: 'key length exceeds the frame' };
  return { kind: 'ok', end, sequence: readU64(b, body), arrival: b.readDoubleLE(body + 8) };
}

/** Reads a u64 that the log keeps below 2^53. */
export function readU64(b: Buffer, o: number): number {
  return b.readUInt32LE(o + 4) * 0x100000000 + b.readUInt32LE(o);
}

/** Writes a non-negative safe integer as u64. */
export function writeU64(b: Buffer, o: number, n: number): void {
  b.writeUInt32LE(n % 0x100000000, o);
  b.writeUInt32LE(Math.floor(n / 0x100000000), o + 4);
}

/** Summary of a sealed segment as stored in its index file. */
export interface SealedSummary {
  readonly lastSequence: number;
  readonly lastArrival: number;
  readonly records: number;
  readonly dataEnd: number;
  readonly entries: readonly IndexEntry[];
}

/** Encodes an index file. */
export function encodeIndex(s: SealedSummary): Buffer {
  const b = Buffer.alloc(INDEX_HEADER_BYTES + s.entries.length * INDEX_ENTRY_BYTES);
  b.writeUInt32LE(INDEX_MAGIC, 0);
  b.writeUInt16LE(INDEX_VERSION, 4);
  b.writeUInt32LE(s.entries.length, 8);
  b.writeDoubleLE(s.lastSequence, 16);
  b.writeDoubleLE(s.lastArrival, 24);
  b.writeDoubleLE(s.records, 32);
  b.writeDoubleLE(s.dataEnd, 40);
  let o = INDEX_HEADER_BYTES;
  for (const e of s.entries) {
    b.writeDoubleLE(e.sequence, o);
    b.writeDoubleLE(e.arrival, o + 8);
    b.writeDoubleLE(e.offset, o + 16);
    o += INDEX_ENTRY_BYTES;
  }
  b.writeUInt32LE(crc32(b.subarray(16)), 12);
  return b;
}

/** Decodes an index file; undefined when it is damaged or of another version (then rebuilt). */
export function decodeIndex(b: Buffer): SealedSummary | undefined {
  if (b.length < INDEX_HEADER_BYTES || b.readUInt32LE(0) !== INDEX_MAGIC || b.readUInt16LE(4) !== INDEX_VERSION) return undefined;
  const count = b.readUInt32LE(8);
  if (b.length !== INDEX_HEADER_BYTES + count * INDEX_ENTRY_BYTES || crc32(b.subarray(16)) !== b.readUInt32LE(12)) return undefined;
  const entries: IndexEntry[] = [];
  for (let i = 0, o = INDEX_HEADER_BYTES; i < count; i++, o += INDEX_ENTRY_BYTES) {
    entries.push({ sequence: b.readDoubleLE(o), arrival: b.readDoubleLE(o + 8), offset: b.readDoubleLE(o + 16) });
  }
  return { lastSequence: b.readDoubleLE(16), lastArrival: b.readDoubleLE(24), records: b.readDoubleLE(32), dataEnd: b.readDoubleLE(40), entries };
}
