/**
 * File-level helpers for segments: naming, creating a new segment durably, opening existing
 * ones during recovery (index file or scan), and sealing.
 */
import { open, readFile, writeFile, rename, unlink, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.ts';
import { formatSequence } from '../sequence.ts';
import { decodeIndex, decodeSegmentHeader, encodeIndex, encodeSegmentHeader, SEGMENT_HEADER_BYTES, SegmentVersionError } from './segment-format.ts';
import { DEFAULT_BLOCK_BYTES } from './block-format.ts';
import { scanSegment } from './segment-scan.ts';
import { readV1Frames, writeV2Copy } from './segment-v1.ts';
import { Segment } from './segment.ts';

/** `<dir>/<base, 20 digits>.seg` and its `.idx`. */
export function segmentPaths(dir: string, baseSequence: number): { path: string; indexPath: string } {
  const stem = join(dir, formatSequence(baseSequence));
  return { path: `${stem}.seg`, indexPath: `${stem}.idx` };
}

/** fsyncs a directory so a created, renamed or deleted entry survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** An in-memory stand-in for a shard without files, used read-only (nothing is created). */
export function emptySegment(dir: string, baseSequence: number): Segment {
  const { path, indexPath } = segmentPaths(dir, baseSequence);
  return new Segment({ path, indexPath, baseSequence, createdAt: 0, lastSequence: baseSequence - 1, lastArrival: 0, records: 0, dataEnd: SEGMENT_HEADER_BYTES, sealed: true, entries: [], corrupt: [] });
}

/** Creates an empty segment (header only), durably, and returns it. */
export async function createSegment(dir: string, baseSequence: number, createdAt: number): Promise<Segment> {
  const { path, indexPath } = segmentPaths(dir, baseSequence);
  const fh = await open(path, 'w');
  try {
    await fh.write(encodeSegmentHeader(baseSequence, createdAt), 0, SEGMENT_HEADER_BYTES, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await unlink(indexPath).catch(() => {});
  await syncDir(dir);
  return new Segment({ path, indexPath, baseSequence, createdAt, lastSequence: baseSequence - 1, lastArrival: createdAt, records: 0, dataEnd: SEGMENT_HEADER_BYTES, sealed: false, entries: [], corrupt: [] });
}

/** Writes the index file of a segment that takes no more appends, durably. */
export async function sealSegment(s: Segment): Promise<void> {
  const tmp = `${s.indexPath}.tmp`;
  await writeFile(tmp, encodeIndex({ lastSequence: s.lastSequence, lastArrival: s.lastArrival, records: s.records, dataEnd: s.dataEnd, entries: s.entries }), { flush: true });
  await rename(tmp, s.indexPath);
  s.sealed = true;
}

/**
 * Opens an existing segment. A sealed one trusts a valid index file matching the file size
 * and scans otherwise; the active one (`active`) is always scanned and its torn tail, if any,
 * is truncated with a warning. Returns undefined for an active segment whose header never
 * became durable (a crash while creating it): it held no records and is removed.
 */
export async function openSegment(dir: string, baseSequence: number, active: boolean, indexIntervalBytes: number, logger: Logger, readOnly = false, blockBytes = DEFAULT_BLOCK_BYTES): Promise<Segment | undefined> {
  const { path, indexPath } = segmentPaths(dir, baseSequence);
  const size = (await stat(path)).size;
  const common = { path, indexPath, baseSequence };
  /** Converts a version-1 segment in place (write beside, fsync, rename), then opens it again. */
  const upgrade = async (): Promise<Segment | undefined> => {
    const bytes = await readFile(path);
    const version = bytes.readUInt16LE(4);
    if (version !== 1) throw new SegmentVersionError(path, version);
    if (readOnly) throw new SegmentVersionError(path, 1, { readOnly: true });
    const v1 = readV1Frames(bytes);
    // Only an active segment may end in a torn tail (unacknowledged, dropped as any recovery would).
    if (v1.damagedAt !== undefined && (!active || v1.validAfterDamage)) throw new SegmentVersionError(path, 1, { damagedAt: v1.damagedAt });
    const tmp = `${path}.v2tmp`;
    await writeV2Copy(tmp, baseSequence, bytes.readDoubleLE(16), blockBytes, v1.records);
    await unlink(indexPath).catch(() => {});
    await rename(tmp, path);
    await syncDir(dir);
    logger.info('stream log: converted a segment from format version 1 to 2 (same records and sequences)', { file: path, records: v1.records.length, droppedTornTailBytes: bytes.length - v1.end });
    return openSegment(dir, baseSequence, active, indexIntervalBytes, logger, readOnly, blockBytes);
  };
  if (!active) {
    const idx = decodeIndex(await readFile(indexPath).catch(() => Buffer.alloc(0)));
    if (idx !== undefined && idx.dataEnd === size) {
      const header = decodeSegmentHeader(await readHead(path));
      if (typeof header !== 'string' && 'otherVersion' in header) return upgrade();
      const createdAt = typeof header === 'string' ? 0 : header.createdAt;
      return new Segment({ ...common, createdAt, lastSequence: idx.lastSequence, lastArrival: idx.lastArrival, records: idx.records, dataEnd: idx.dataEnd, sealed: true, entries: [...idx.entries], corrupt: [] });
    }
  }
  const bytes = await readFile(path);
  const header = decodeSegmentHeader(bytes);
  // An intact header of another version is not damage: convert it, or refuse the whole open.
  if (typeof header !== 'string' && 'otherVersion' in header) return upgrade();
  if (typeof header === 'string') {
    if (active && size <= SEGMENT_HEADER_BYTES) {
      if (readOnly) return undefined;
      logger.warn('stream log: removed a segment whose header was never completely written (crash while creating it; it held no records)', { file: path, bytes: size });
      await unlink(path);
      await syncDir(dir);
      return undefined;
    }
    return new Segment({ ...common, createdAt: 0, lastSequence: baseSequence - 1, lastArrival: 0, records: 0, dataEnd: size, sealed: !active, entries: [], corrupt: [{ start: 0, end: size, reason: `segment header: ${header}` }] });
  }
  const scan = scanSegment(bytes, SEGMENT_HEADER_BYTES, baseSequence, header.createdAt, indexIntervalBytes);
  const corrupt = [...scan.corrupt];
  let dataEnd = scan.dataEnd;
  if (scan.tail !== undefined) {
    if (active && readOnly) {
      // Read-only (e.g. the CLI beside a running pipeline): the tail may be a write in flight.
    } else if (active) {
      logger.warn('stream log: truncated a torn tail (an incomplete last write that was never acknowledged)', { file: path, offset: scan.tail.offset, bytes: scan.tail.bytes, reason: scan.tail.reason });
      await truncate(path, scan.tail.offset);
      const fh = await open(path, 'r+');
      await fh.datasync().finally(() => fh.close());
    } else {
      // A sealed segment was fully fsync'd before its successor existed: bad bytes are damage.
      corrupt.push({ start: scan.tail.offset, end: size, reason: scan.tail.reason });
      dataEnd = size;
    }
  }
  if (corrupt.length > 0) logger.error('stream log: segment has damaged acknowledged records; reads reaching them fail with DATA_CORRUPT', { file: path, ranges: corrupt });
  const seg = new Segment({ ...common, createdAt: header.createdAt, lastSequence: scan.lastSequence, lastArrival: scan.lastArrival, records: scan.records, dataEnd, sealed: false, entries: scan.entries, corrupt });
  if (!active && corrupt.length === 0 && !readOnly) await sealSegment(seg);
  seg.sealed = !active;
  return seg;
}

async function readHead(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
    await fh.read(b, 0, SEGMENT_HEADER_BYTES, 0);
    return b;
  } finally {
    await fh.close();
  }
}
