/**
 * Column readers: the change stream's hot path reads each text-format column value straight
 * from the pgoutput message bytes, instead of first making a JavaScript string per column and
 * then parsing it. Every reader returns exactly what the column's {@link TextParser} returns
 * for the same text (the type round-trip tests hold both to PostgreSQL's values).
 *
 * Why: on the machines measured, every native Buffer→string call costs ~110-170 ns whatever the
 * length, so five columns paid ~0.7 µs per row for strings that were parsed and thrown away.
 * Now integers and timestamps are parsed from the bytes, and short values are substrings of one
 * latin1 string per receive buffer ({@link Latin1Text}); only values of 13 characters or more
 * make a string of their own (so that no value keeps a receive buffer's text alive).
 */
import { daysFromCivil, Decimal, Timestamp, type Value } from '../../core/values.ts';
import {
  parseBool, parseFloat, parseInt32, parseInt64, parseNumeric, parseString, parseTimestamp, parseTimestamptz, type TextParser,
} from './type-parsers.ts';
import type { ResolvedType } from './type-map.ts';

/**
 * Buffer's native slice methods: what `toString(encoding, start, end)` calls after checking its
 * arguments (those checks cost as much as the slice for short values). Not in Node's types.
 */
interface NativeSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/**
 * V8 makes a substring of at least this many characters a view that keeps its whole parent
 * string alive; shorter ones are copies. A value that may outlive the batch (a transform's
 * state, a cache) must never pin a receive buffer's 64 KiB string, so such values are sliced
 * from the bytes natively instead.
 */
const SLICED_MIN = 13;

/**
 * The latin1 text of the buffer being decoded, made once per buffer (one native call per
 * receive buffer instead of one per column). Only for bytes known to be ASCII: there latin1
 * and UTF-8 agree. The cache is keyed by buffer identity: the owner calls {@link clear} before
 * a buffer may be reused with new contents.
 */
export class Latin1Text {
  #buf: Uint8Array | undefined;
  #text = '';
  #view: DataView | undefined;

  #load(b: Buffer): void {
    this.#buf = b;
    this.#text = (b as unknown as NativeSlices).latin1Slice(0, b.length);
    this.#view = new DataView(b.buffer, b.byteOffset, b.length);
  }

  /** Bytes `s..e` of `b` (ASCII) as a string for parsing: may be a view of the buffer's text. */
  slice(b: Buffer, s: number, e: number): string {
    if (b !== this.#buf) this.#load(b);
    return this.#text.substring(s, e);
  }

  /** Bytes `s..e` of `b` (ASCII) as a string of its own (kept in values: never a view of the buffer's text). */
  own(b: Buffer, s: number, e: number): string {
    return e - s < SLICED_MIN ? this.slice(b, s, e) : (b as unknown as NativeSlices).latin1Slice(s, e);
  }

  /** Bytes `s..e` of `b` decoded as UTF-8, a string of its own; short ASCII values skip the native call. */
  utf8(b: Buffer, s: number, e: number): string {
    if (e - s >= SLICED_MIN) return (b as unknown as NativeSlices).utf8Slice(s, e);
    if (b !== this.#buf) this.#load(b);
    const v = this.#view as DataView;
    let i = s;
    for (; i + 4 <= e; i += 4) if ((v.getUint32(i) & 0x80808080) !== 0) return (b as unknown as NativeSlices).utf8Slice(s, e);
    for (; i < e; i++) if ((b[i] as number) >= 0x80) return (b as unknown as NativeSlices).utf8Slice(s, e);
    return this.#text.substring(s, e);
  }

  /** Forgets the cached buffer. */
  clear(): void {
    this.#buf = undefined;
    this.#text = '';
    this.#view = undefined;
  }
}

/** Reads one column value from bytes `s..e` of `b` (text format). */
export type ColumnReader = (b: Buffer, s: number, e: number, text: Latin1Text) => Value;

/** Types whose text form is always ASCII (so the shared latin1 text is exact). */
const ASCII_TYPES = new Set(['uuid', 'inet', 'cidr', 'macaddr', 'macaddr8', 'bit', 'varbit']);

/**
 * A fresh reader for a column of type `t` (fresh: readers may remember the last value they
 * parsed, so each column gets its own).
 */
export function columnReader(t: ResolvedType): ColumnReader {
  const p = t.parse;
  if (p === parseInt32) return readInt32;
  if (p === parseInt64) return readInt64;
  if (p === parseNumeric) return (b, s, e, text) => new Decimal(text.own(b, s, e), true);
  if (p === parseBool) return (b, s, e) => e - s === 1 && b[s] === 0x74;
  if (p === parseFloat) return (b, s, e, text) => Number(text.slice(b, s, e));
  if (p === parseTimestamptz) return timestampReader(true);
  if (p === parseTimestamp) return timestampReader(false);
  if (p === parseString) return ASCII_TYPES.has(t.sourceType) ? (b, s, e, text) => text.own(b, s, e) : readUtf8;
  return generic(p);
}

function generic(parse: TextParser): ColumnReader {
  return (b, s, e, text) => parse(text.utf8(b, s, e));
}

const readUtf8: ColumnReader = (b, s, e, text) => text.utf8(b, s, e);

/** Plain decimal digits with an optional `-`, at most 15 digits; NaN for anything else. */
function smallInt(b: Buffer, s: number, e: number): number {
  let i = s;
  const neg = b[i] === 0x2d;
  if (neg) i++;
  if (i === e || e - i > 15) return NaN;
  let v = 0;
  for (; i < e; i++) {
    const d = (b[i] as number) - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

const readInt32: ColumnReader = (b, s, e, text) => {
  const v = smallInt(b, s, e);
  return v === v ? v : parseInt32(text.slice(b, s, e));
};

const readInt64: ColumnReader = (b, s, e, text) => {
  const v = smallInt(b, s, e);
  return v === v ? BigInt(v) : parseInt64(text.slice(b, s, e));
};

/**
 * Timestamps remember the last text and value: rows written by one statement often share a
 * timestamp (`now()` is the transaction's start), and values are immutable, so one instance
 * may sit in many events (as a transaction's commit time already does).
 */
function timestampReader(withTimeZone: boolean): ColumnReader {
  let lastText = '';
  let last: Timestamp | undefined;
  return (b, s, e, text) => {
    const t = text.slice(b, s, e);
    if (last !== undefined && t === lastText) return last;
    const micros = fastMicros(b, s, e);
    const v = micros === micros ? new Timestamp(BigInt(micros), withTimeZone) : ((withTimeZone ? parseTimestamptz : parseTimestamp)(t) as Timestamp);
    lastText = t;
    last = v;
    return v;
  };
}

const d2 = (b: Buffer, i: number): number => ((b[i] as number) - 48) * 10 + (b[i + 1] as number) - 48;

/**
 * The common shape `YYYY-MM-DD HH:MM:SS[.f{1,6}][+HH]` (4-digit AD year, whole-hour offset) as
 * µs since 1970 in a double, when that is exact (years ~1685-2255); NaN for anything else (the
 * text parser then handles it).
 */
export function fastMicros(b: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n < 19 || b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 32 || b[s + 13] !== 58 || b[s + 16] !== 58) return NaN;
  const y = d2(b, s) * 100 + d2(b, s + 2);
  const mo = d2(b, s + 5);
  const d = d2(b, s + 8);
  const h = d2(b, s + 11);
  const mi = d2(b, s + 14);
  const se = d2(b, s + 17);
  if (!(y >= 0 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 24 && mi >= 0 && mi <= 59 && se >= 0 && se <= 60)) return NaN;
  let i = s + 19;
  let frac = 0;
  if (i < e && b[i] === 46) {
    let digits = 0;
    i++;
    while (i < e) {
      const c = (b[i] as number) - 48;
      if (c < 0 || c > 9) break;
      frac = frac * 10 + c;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 6) return NaN;
    for (; digits < 6; digits++) frac *= 10;
  }
  let offset = 0;
  if (i < e) {
    const sign = b[i];
    if ((sign !== 43 && sign !== 45) || e !== i + 3) return NaN;
    const oh = d2(b, i + 1);
    if (!(oh >= 0 && oh <= 99)) return NaN;
    offset = sign === 45 ? -oh * 3600 : oh * 3600;
  }
  const micros = (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset) * 1_000_000 + frac;
  return Number.isSafeInteger(micros) ? micros : NaN;
}
