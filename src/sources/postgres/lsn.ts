/**
 * Log sequence numbers and source positions.
 *
 * A position is `LLLLLLLLLLLLLLLL/IIIIIIII`: the transaction's commit LSN as 16 hex digits and
 * the event's index within the transaction as 8 hex digits, so plain string order is source
 * order. {@link END_OF_TX} as the index means "after every event of that transaction": a batch
 * that ends on a transaction boundary carries that position. A batch may also end inside a
 * very large transaction; its position then names its last event, and a resume re-reads that
 * transaction from the slot and skips what is already durable.
 */
import { CodecError } from '../../core/errors.ts';

/** Index that sorts after every event of a transaction. */
export const END_OF_TX = 0xffffffff;

/** Parses `X/Y` (PostgreSQL's text form) into a 64-bit LSN. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (m === null) throw new CodecError(`invalid LSN ${JSON.stringify(text)}: expected hex/hex such as 0/16B3748`);
  return (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]);
}

/** Formats a 64-bit LSN the way PostgreSQL does (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** A decoded source position. */
export interface Position {
  readonly commitLsn: bigint;
  readonly index: number;
}

/** Two lowercase hex digits per byte value (table lookups: number→hex conversions are slow). */
export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A 32-bit unsigned number as 8 lowercase hex digits. */
export function hex8(n: number): string {
  return (HEX2[n >>> 24] as string) + (HEX2[(n >>> 16) & 255] as string) + (HEX2[(n >>> 8) & 255] as string) + (HEX2[n & 255] as string);
}

/** Encodes a position as its fixed-width, order-preserving string. */
export function formatPosition(commitLsn: bigint, index: number): string {
  return positionPrefix(Number(commitLsn >> 32n), Number(commitLsn & 0xffffffffn)) + hex8(index);
}

let lastHi = 0;
let lastHiHex = '00000000';

/** `formatPosition(lsn, i)` up to and including the `/`, from the LSN's high and low 32 bits. */
export function positionPrefix(hi: number, lo: number): string {
  // The high half changes once per 4 GiB of WAL: remember its digits.
  if (hi !== lastHi) {
    lastHiHex = hex8(hi);
    lastHi = hi;
  }
  return lastHiHex + hex8(lo) + '/';
}

/** Parses a position written by {@link formatPosition}. */
export function parsePosition(text: string): Position {
  const m = /^([0-9a-f]{16})\/([0-9a-f]{8})$/.exec(text);
  if (m === null) throw new CodecError(`invalid postgres source position ${JSON.stringify(text)}: expected 16 hex digits, '/', 8 hex digits`);
  return { commitLsn: BigInt('0x' + m[1]), index: parseInt(m[2] as string, 16) };
}
