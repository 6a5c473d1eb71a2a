/**
 * Recovery scan of one segment's bytes: validates every frame, builds the sparse index, and
 * tells a torn tail (an incomplete last write: nothing valid follows it) from corruption
 * inside acknowledged data (valid frames follow it). Only the caller decides what to do:
 * the active segment's torn tail is truncated; corruption is remembered and never served.
 */
import { checkFrame, FRAME_HEADER_BYTES, BODY_FIXED_BYTES, readU64, type IndexEntry } from './segment-format.ts';

/** A byte range that failed validation but has valid frames after it. */
export interface CorruptRange {
  readonly start: number;
  readonly end: number;
  readonly reason: string;
}

/** What a scan found in a segment. */
export interface ScanResult {
  readonly lastSequence: number;
  readonly lastArrival: number;
  readonly records: number;
  /** End of the last valid frame (where appends continue after truncating a torn tail). */
  readonly dataEnd: number;
  readonly entries: IndexEntry[];
  readonly corrupt: CorruptRange[];
  /** Set when bytes after `dataEnd` are an invalid tail with nothing valid after them. */
  readonly tail: { readonly offset: number; readonly bytes: number; readonly reason: string } | undefined;
}

/** Scans frames of `b` from `start`; `baseSequence` is the segment's first sequence. */
export function scanSegment(b: Buffer, start: number, baseSequence: number, createdAt: number, indexIntervalBytes: number): ScanResult {
  let o = start;
  let lastSequence = baseSequence - 1;
  let lastArrival = createdAt;
  let records = 0;
  let lastEntryOffset = -Infinity;
  const entries: IndexEntry[] = [];
  const corrupt: CorruptRange[] = [];
  let tail: ScanResult['tail'];
  while (o < b.length) {
    const c = checkFrame(b, o);
    if (c.kind === 'ok' && c.sequence > lastSequence) {
      if (o - lastEntryOffset >= indexIntervalBytes) {
        entries.push({ sequence: c.sequence, arrival: c.arrival, offset: o });
        lastEntryOffset = o;
      }
      records++;
      lastSequence = c.sequence;
      lastArrival = Math.max(lastArrival, c.arrival);
      o = c.end;
      continue;
    }
    const reason = c.kind === 'bad' ? c.reason : c.kind === 'short' ? 'incomplete frame at end of file' : `sequence ${c.sequence} does not follow ${lastSequence}`;
    const next = resync(b, o + 1, lastSequence);
    if (next === undefined) {
      tail = { offset: o, bytes: b.length - o, reason };
      break;
    }
    corrupt.push({ start: o, end: next, reason });
    lastEntryOffset = -Infinity; // force an index entry right after the damage
    o = next;
  }
  return { lastSequence, lastArrival, records, dataEnd: tail === undefined ? b.length : tail.offset, entries, corrupt, tail };
}

/**
 * The first offset ≥ `from` holding a valid frame with a later sequence, or undefined. Cheap
 * plausibility checks (length, sequence) run before the checksum so garbage is skipped fast.
 */
function resync(b: Buffer, from: number, lastSequence: number): number | undefined {
  const minFrame = FRAME_HEADER_BYTES + BODY_FIXED_BYTES;
  for (let p = from; p + minFrame <= b.length; p++) {
    const bodyLen = b.readUInt32LE(p);
    if (bodyLen < BODY_FIXED_BYTES || p + FRAME_HEADER_BYTES + bodyLen > b.length) continue;
    const seq = readU64(b, p + FRAME_HEADER_BYTES);
    if (seq <= lastSequence || seq > lastSequence + 1 + (b.length - p) / minFrame) continue;
    const c = checkFrame(b, p);
    if (c.kind === 'ok') return p;
  }
  return undefined;
}
