/**
 * Decoders for PostgreSQL's binary send format (what `COPY ... (FORMAT binary)` writes), for the
 * common built-in types. Each returns the same lossless {@link Value} the text parsers of the
 * change stream return for that type (`type-parsers.ts`), so a snapshot row and a change of the
 * same row are indistinguishable. Types without a decoder here are read as `col::text` and go
 * through the text parser instead (see `table-reader.ts`).
 */
import { CodecError } from '../../../core/errors.ts';
import { DateValue, Decimal, Interval, JsonText, Timestamp, TimeValue, type Value } from '../../../core/values.ts';
import { PG_EPOCH_MICROS } from '../replication-connection.ts';

/** Decodes one non-NULL field of `len` bytes at `off`. */
export type BinaryDecoder = (b: Buffer, off: number, len: number) => Value;

/** Days between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
const PG_EPOCH_DAYS = 10_957;
const I64_MAX = 0x7fffffffffffffffn;
const I64_MIN = -0x8000000000000000n;

const utf8: BinaryDecoder = (b, off, len) => b.toString('utf8', off, off + len);

function timestamp(withTimeZone: boolean): BinaryDecoder {
  return (b, off) => {
    const us = b.readBigInt64BE(off);
    if (us === I64_MAX) return new Timestamp('infinity', withTimeZone);
    if (us === I64_MIN) return new Timestamp('-infinity', withTimeZone);
    return new Timestamp(us + PG_EPOCH_MICROS, withTimeZone);
  };
}

const date: BinaryDecoder = (b, off) => {
  const d = b.readInt32BE(off);
  if (d === 0x7fffffff) return new DateValue('infinity');
  if (d === -0x80000000) return new DateValue('-infinity');
  return new DateValue(d + PG_EPOCH_DAYS);
};

/** numeric: ndigits, weight, sign, dscale, then base-10000 digits. Printed exactly as numeric_out does. */
const numeric: BinaryDecoder = (b, off) => new Decimal(numericText(b, off), true);

/** The text of a binary numeric (`NaN`, `Infinity`, `-Infinity` or `-?digits(.digits)?`), as numeric_out prints it. */
export function numericText(b: Buffer, off: number): string {
  const ndigits = b.readInt16BE(off);
  const weight = b.readInt16BE(off + 2);
  const sign = b.readUInt16BE(off + 4);
  const dscale = b.readInt16BE(off + 6);
  if (sign === 0xc000) return 'NaN';
  if (sign === 0xd000) return 'Infinity';
  if (sign === 0xf000) return '-Infinity';
  let int = '';
  let i = 0;
  // Integer part: digit groups 0..weight.
  if (weight < 0) int = '0';
  else {
    for (; i <= weight; i++) {
      const g = i < ndigits ? b.readInt16BE(off + 8 + i * 2) : 0;
      int += i === 0 ? String(g) : String(g).padStart(4, '0');
    }
  }
  let out = sign === 0x4000 ? '-' + int : int;
  if (dscale > 0) {
    let frac = '';
    // Fraction groups start at weight+1; groups before the first stored digit are zeros.
    for (let w = weight + 1; frac.length < dscale; w++) {
      const idx = w;
      const g = idx >= 0 && idx < ndigits ? b.readInt16BE(off + 8 + idx * 2) : 0;
      frac += String(g).padStart(4, '0');
    }
    out += '.' + frac.slice(0, dscale);
  }
  return out;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

const uuid: BinaryDecoder = (b, off) => {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[off + i] as number];
  }
  return s;
};

const interval: BinaryDecoder = (b, off) => new Interval(b.readInt32BE(off + 12), b.readInt32BE(off + 8), b.readBigInt64BE(off));

/** Built-in binary decoders by type OID (domains use their base type's OID, enums {@link ENUM_DECODER}). */
export const BINARY_DECODERS: ReadonlyMap<number, BinaryDecoder> = new Map<number, BinaryDecoder>([
  [16, (b, off) => b[off] === 1],
  [17, (b, off, len) => new Uint8Array(b.subarray(off, off + len))],
  [18, utf8],
  [19, utf8],
  [20, (b, off) => b.readBigInt64BE(off)],
  [21, (b, off) => b.readInt16BE(off)],
  [23, (b, off) => b.readInt32BE(off)],
  [25, utf8],
  [26, (b, off) => BigInt(b.readUInt32BE(off))],
  [114, (b, off, len) => new JsonText(b.toString('utf8', off, off + len))],
  [700, (b, off) => b.readFloatBE(off)],
  [701, (b, off) => b.readDoubleBE(off)],
  [1042, utf8],
  [1043, utf8],
  [1082, date],
  [1083, (b, off) => new TimeValue(b.readBigInt64BE(off))],
  [1114, timestamp(false)],
  [1184, timestamp(true)],
  [1186, interval],
  // timetz: µs, then the zone as seconds WEST of UTC.
  [1266, (b, off) => new TimeValue(b.readBigInt64BE(off), -b.readInt32BE(off + 8) || 0)],
  [1700, numeric],
  [2950, uuid],
  // jsonb: a version byte (1), then the text.
  [3802, (b, off, len) => {
    if (b[off] !== 1) throw new CodecError(`unsupported jsonb binary version ${b[off]}: read this column as text`);
    return new JsonText(b.toString('utf8', off + 1, off + len));
  }],
]);

/** Enum values are sent as their label. */
export const ENUM_DECODER: BinaryDecoder = utf8;

/**
 * Array decoder for an element decoder: `ndim, hasnull, elemtype, (size, lbound) per dim`, then
 * the elements as (length, bytes). Lower bounds are dropped, as the text parser drops them.
 */
export function arrayDecoder(element: BinaryDecoder): BinaryDecoder {
  return (b, off) => {
    const ndim = b.readInt32BE(off);
    if (ndim === 0) return [];
    const dims: number[] = [];
    for (let d = 0; d < ndim; d++) dims.push(b.readInt32BE(off + 12 + d * 8));
    let p = off + 12 + ndim * 8;
    const level = (d: number): Value[] => {
      const n = dims[d] as number;
      const out: Value[] = new Array(n);
      for (let i = 0; i < n; i++) {
        if (d + 1 < ndim) {
          out[i] = level(d + 1);
          continue;
        }
        const len = b.readInt32BE(p);
        p += 4;
        if (len < 0) out[i] = null;
        else {
          out[i] = element(b, p, len);
          p += len;
        }
      }
      return out;
    };
    return level(0);
  };
}
