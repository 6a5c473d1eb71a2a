/**
 * Upgrade of format-version-1 segments (one frame with its own CRC per record) to version 2
 * (blocks), done once when a writable log opens a shard. Sequences, arrival times, keys and
 * data stay exactly as they were, so consumer checkpoints and lake object names (which carry
 * sequences) stay valid. Version 1, as written by Hydrant before 2026-11-22:
 * ```
 * frame: u32 body length | u32 CRC-32 of body
 *        | body: u64 sequence | f64 arrival (epoch ms) | u16 key length | key (UTF-8) | data
 * ```
 * Crash-safe: the new file is written beside the old one, fsync'd and renamed over it (see
 * `openSegment`); a crash before the rename leaves the version-1 file, converted again on the
 * next open.
 */
import { writeFile } from 'node:fs/promises';
import type { PutRecord } from '../stream-log.ts';
import { encodeBatch, readU64 } from './block-format.ts';
import { crc32 } from './crc32.ts';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES } from './segment-format.ts';

const FRAME_HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 18;

/** A version-1 record as read back. */
interface V1Record {
  readonly sequence: number;
  readonly arrival: number;
  readonly key: string;
  readonly data: Uint8Array;
}

/**
 * Reads the frames of a version-1 segment. A bad or incomplete frame ends the records: for
 * the active segment that is a torn tail (never acknowledged, dropped as version 2 recovery
 * would); `damagedAt` reports it so a sealed segment with damage is refused instead of
 * losing what follows.
 */
export function readV1Frames(b: Buffer): { records: V1Record[]; end: number; damagedAt: number | undefined; validAfterDamage: boolean } {
  const records: V1Record[] = [];
  let o = SEGMENT_HEADER_BYTES;
  let last = -1;
  while (o + FRAME_HEADER_BYTES <= b.length) {
    const bodyLen = b.readUInt32LE(o);
    const body = o + FRAME_HEADER_BYTES;
    const end = body + bodyLen;
    if (bodyLen < BODY_FIXED_BYTES || end > b.length || crc32(b.subarray(body, end)) !== b.readUInt32LE(o + 4)) break;
    const keyEnd = body + BODY_FIXED_BYTES + b.readUInt16LE(body + 16);
    const sequence = readU64(b, body);
    if (keyEnd > end || sequence <= last) break;
    records.push({ sequence, arrival: b.readDoubleLE(body + 8), key: b.toString('utf8', body + BODY_FIXED_BYTES, keyEnd), data: b.subarray(keyEnd, end) });
    last = sequence;
    o = end;
  }
  return { records, end: o, damagedAt: o < b.length ? o : undefined, validAfterDamage: o < b.length && validFrameAfter(b, o + 1, last) };
}

/** True when a valid frame with a later sequence starts somewhere at or after `from`. */
function validFrameAfter(b: Buffer, from: number, last: number): boolean {
  for (let p = from; p + FRAME_HEADER_BYTES + BODY_FIXED_BYTES <= b.length; p++) {
    const bodyLen = b.readUInt32LE(p);
    if (bodyLen < BODY_FIXED_BYTES || p + FRAME_HEADER_BYTES + bodyLen > b.length || readU64(b, p + FRAME_HEADER_BYTES) <= last) continue;
    if (crc32(b.subarray(p + FRAME_HEADER_BYTES, p + FRAME_HEADER_BYTES + bodyLen)) === b.readUInt32LE(p + 4)) return true;
  }
  return false;
}

/**
 * Writes the records of a version-1 segment as a version-2 segment at `tmp`, durably. Runs of
 * records with consecutive sequences and one arrival time (one appended batch) become blocks,
 * as the writer would have made them. The caller renames it over the old file.
 */
export async function writeV2Copy(tmp: string, baseSequence: number, createdAt: number, blockBytes: number, records: readonly V1Record[]): Promise<void> {
  const parts: Buffer[] = [encodeSegmentHeader(baseSequence, createdAt)];
  let i = 0;
  while (i < records.length) {
    const first = records[i] as V1Record;
    let j = i + 1;
    while (j < records.length && (records[j] as V1Record).sequence === first.sequence + (j - i) && (records[j] as V1Record).arrival === first.arrival) j++;
    const run: PutRecord[] = records.slice(i, j).map((r) => ({ partitionKey: r.key, data: r.data }));
    parts.push(encodeBatch(run, first.sequence, first.arrival, blockBytes).buf);
    i = j;
  }
  await writeFile(tmp, Buffer.concat(parts), { flush: true });
}
