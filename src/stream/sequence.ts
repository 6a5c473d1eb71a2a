/**
 * Sequence numbers are decimal strings, strictly increasing within a shard.
 *
 * Every backend's sequences compare numerically with {@link compareSequence} (BigInt, so
 * Kinesis' 56-digit numbers work too). The embedded log goes further: its sequences are the
 * per-shard record counter (1, 2, 3, … with no gaps) zero-padded to {@link SEQUENCE_WIDTH}
 * digits, so plain string order equals numeric order within a shard, and `last - checkpoint`
 * is the exact number of unread records. Counters stay below 2^53 so they fit a JS number.
 */
import { HydrantError } from '../core/errors.ts';

/** Digits of an embedded-log sequence number (fits any uint64). */
export const SEQUENCE_WIDTH = 20;

/** A string that is not a decimal sequence number. */
export class InvalidSequenceError extends HydrantError {
  constructor(value: string) {
    super('INVALID_SEQUENCE', `sequence number ${JSON.stringify(value.slice(0, 80))} is not a decimal string; pass the "sequence" of a record read from the same shard.`);
  }
}

/** Compares two sequence numbers numerically: negative, zero or positive. */
export function compareSequence(a: string, b: string): number {
  if (!/^[0-9]+$/.test(a)) throw new InvalidSequenceError(a);
  if (!/^[0-9]+$/.test(b)) throw new InvalidSequenceError(b);
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Formats an embedded-log counter as a fixed-width sequence number. */
export function formatSequence(n: number): string {
  const s = String(n);
  return s.length >= SEQUENCE_WIDTH ? s : (ZEROS[SEQUENCE_WIDTH - s.length] as string) + s;
}

const ZEROS = Array.from({ length: SEQUENCE_WIDTH + 1 }, (_, i) => '0'.repeat(i));
/** The last three digits of a sequence, 000..999. */
const LOW3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * Formats the consecutive counters `first .. first + count - 1` into `out[at ..]`, the same
 * strings as {@link formatSequence}. The log hands out and serves records in runs (a batch,
 * a block), and converting each number to a string was a visible per-record cost; here one
 * conversion per 1,000 counters builds the 17-digit prefix and the rest is a table lookup.
 */
export function formatSequenceRun(first: number, count: number, out: string[], at = 0): void {
  let i = 0;
  while (i < count) {
    const n = first + i;
    const low = n % 1000;
    const prefix = formatSequence(n - low).slice(0, SEQUENCE_WIDTH - 3);
    const run = Math.min(count - i, 1000 - low);
    for (let j = 0; j < run; j++) out[at + i + j] = prefix + (LOW3[low + j] as string);
    i += run;
  }
}

/** Parses a sequence number into an embedded-log counter (throws when not a safe integer). */
export function parseSequence(value: string): number {
  if (!/^[0-9]{1,40}$/.test(value)) throw new InvalidSequenceError(value);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidSequenceError(value);
  return n;
}
