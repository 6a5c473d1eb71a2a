/**
 * On-disk formats of the embedded log, all little-endian and versioned.
 *
 * Segment file `<base sequence, 20 digits>.seg`:
 * ```
 * header (32 bytes): magic "HYSG" | u16 version=2 | u16 header length=32 | u64 base sequence
 *                    | f64 created (epoch ms) | u32 reserved | u32 CRC-32 of bytes 0..27
 * block, repeated:   see block-format.ts (one per appended batch, bounded in size)
 * ```
 * Version 1 (one checksummed frame per record) is converted to version 2 when a writable log
 * opens it (segment-v1.ts); read-only, or when damaged, it fails with {@link SegmentVersionError}.
 *
 * Index file `<base>.idx`, written when a segment is sealed (rebuilt by a scan when missing):
 * ```
 * header (48 bytes): magic "HYIX" | u16 version=2 | u16 reserved | u32 entry count | u32 CRC-32 of bytes 16..end
 *                    | f64 last sequence | f64 last arrival | f64 record count | f64 data end offset
 * entry (24 bytes):  f64 first sequence of a block | f64 its arrival | f64 its file offset
 *                    (sparse: at most one per ~64 KiB, always at a block start)
 * ```
 */
import { dirname } from 'node:path';
import { HydrantError } from '../../core/errors.ts';
import { crc32 } from './crc32.ts';
import { readU64 } from './block-format.ts';

/** Segment header magic. */
export const SEGMENT_MAGIC = 0x47535948; // "HYSG" read as u32 LE
/** Segment format version written and read (2: blocks; 1: a frame per record, refused). */
export const SEGMENT_VERSION = 2;
/** Bytes before the first frame of a segment. */
export const SEGMENT_HEADER_BYTES = 32;
/** Index file magic. */
export const INDEX_MAGIC = 0x58495948; // "HYIX"
/** Index format version written and read (2: entries point at block starts). */
export const INDEX_VERSION = 2;
/** Bytes before the first index entry. */
export const INDEX_HEADER_BYTES = 48;
/** Bytes per index entry. */
export const INDEX_ENTRY_BYTES = 24;

/** One sparse index point: the block at `offset` starts with `sequence`, which arrived at `arrival`. */
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

/** A segment in a format version this Hydrant cannot read (or, read-only, cannot convert). */
export class SegmentVersionError extends HydrantError {
  /**
   * `problem` says why a version-1 segment was not converted: the log was opened read-only,
   * or the segment is damaged (converting would drop acknowledged records after the damage).
   */
  constructor(path: string, version: number, problem?: { readonly readOnly: true } | { readonly damagedAt: number }) {
    const what = version > SEGMENT_VERSION
      ? `was written by a newer Hydrant (format version ${version}; this Hydrant reads up to version ${SEGMENT_VERSION}). Upgrade Hydrant.`
      : version !== 1 ? `has format version ${version}, which no Hydrant release wrote; it is not a segment this log can read. Move it out of ${dirname(path)}.`
      : problem !== undefined && 'readOnly' in problem ? `is in format version 1 (written by an older Hydrant); a read-only open does not convert it. Open the log writable once with this Hydrant (e.g. run the pipeline) to convert it to version ${SEGMENT_VERSION} in place, or read it with the older Hydrant.`
      : `is in format version 1 (written by an older Hydrant) and damaged at byte ${problem?.damagedAt ?? 0}, so converting it to version ${SEGMENT_VERSION} would drop acknowledged records after the damage. Restore the file from a backup, read it with the older Hydrant, or move it away (its records are lost).`;
    super('LOG_FORMAT_VERSION', `stream log segment ${path} ${what}`, { details: { file: path, version, supported: SEGMENT_VERSION } });
  }
}

/**
 * Decodes a segment header; returns a reason string when it is not a valid header, and the
 * version alone when the header is intact but of another format version.
 */
export function decodeSegmentHeader(b: Buffer): { baseSequence: number; createdAt: number } | { otherVersion: number } | string {
  if (b.length < SEGMENT_HEADER_BYTES) return `header is ${b.length} bytes, expected ${SEGMENT_HEADER_BYTES}`;
  if (b.readUInt32LE(0) !== SEGMENT_MAGIC) return 'bad magic (not a Hydrant segment file)';
  if (b.readUInt32LE(28) !== crc32(b.subarray(0, 28))) return 'header checksum mismatch';
  const version = b.readUInt16LE(4);
  if (version !== SEGMENT_VERSION) return { otherVersion: version };
  return { baseSequence: readU64(b, 8), createdAt: b.readDoubleLE(16) };
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
