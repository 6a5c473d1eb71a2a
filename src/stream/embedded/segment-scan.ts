/**
 * Recovery scan of one segment's bytes: validates every block, builds the sparse index, and
 * tells a torn tail (an incomplete last write: nothing valid follows it) from corruption
 * inside acknowledged data (valid blocks follow it). Only the caller decides what to do:
 * the active segment's torn tail is truncated; corruption is remembered and never served.
 * A torn tail is always whole blocks' worth of unacknowledged bytes: appends are acknowledged
 * only after the fdatasync of the whole group that holds their blocks.
 */
import { BLOCK_FIXED_BYTES, BLOCK_HEADER_BYTES, RECORD_HEADER_BYTES, checkBlock, readU64 } from './block-format.ts';
import type { IndexEntry } from './segment-format.ts';

/** A byte range that failed validation but has valid blocks after it. */
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
  /** End of the last valid block (where appends continue after truncating a torn tail). */
  readonly dataEnd: number;
  readonly entries: IndexEntry[];
  readonly corrupt: CorruptRange[];
  /** Set when bytes after `dataEnd` are an invalid tail with nothing valid after them. */
  readonly tail: { readonly offset: number; readonly bytes: number; readonly reason: string } | undefined;
}

/** Scans blocks of `b` from `start`; `baseSequence` is the segment's first sequence. */
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
    const c = checkBlock(b, o);
    if (c.kind === 'ok' && c.first > lastSequence) {
      if (o - lastEntryOffset >= indexIntervalBytes) {
        entries.push({ sequence: c.first, arrival: c.arrival, offset: o });
        lastEntryOffset = o;
      }
      records += c.count;
      lastSequence = c.first + c.count - 1;
      lastArrival = Math.max(lastArrival, c.arrival);
      o = c.end;
      continue;
    }
    const reason = c.kind === 'bad' ? c.reason : c.kind === 'short' ? 'incomplete block at end of file' : `sequence ${c.first} does not follow ${lastSequence}`;
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
 * The first offset ≥ `from` holding a valid block with a later sequence, or undefined. Cheap
 * plausibility checks (length, sequence, count) run before the checksum so garbage is
 * skipped fast.
 */
function resync(b: Buffer, from: number, lastSequence: number): number | undefined {
  const minRecord = RECORD_HEADER_BYTES + 1; // keys are never empty
  const minBlock = BLOCK_HEADER_BYTES + BLOCK_FIXED_BYTES + minRecord;
  for (let p = from; p + minBlock <= b.length; p++) {
    const bodyLen = b.readUInt32LE(p);
    if (bodyLen < BLOCK_FIXED_BYTES + minRecord || p + BLOCK_HEADER_BYTES + bodyLen > b.length) continue;
    const body = p + BLOCK_HEADER_BYTES;
    const seq = readU64(b, body);
    // Records lost in the damage took at least minRecord bytes each.
    if (seq <= lastSequence || seq > lastSequence + 1 + p / minRecord) continue;
    const count = b.readUInt32LE(body + 16);
    if (count < 1 || count * minRecord > bodyLen - BLOCK_FIXED_BYTES) continue;
    if (checkBlock(b, p).kind === 'ok') return p;
  }
  return undefined;
}
