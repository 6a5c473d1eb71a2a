/**
 * COPY binary fields straight to the JSON text the value codec writes for the decoded value,
 * for snapshot chunks written as stream records by the source itself (encoded-events.ts):
 * `binaryJsonFor(oid, decoder)(b, off, len)` is exactly `valueToJson(decoder(b, off, len))`,
 * skipping the value object where the type allows (integers, timestamps, text-like types,
 * booleans). Every other type goes through its decoder and `valueToJson`, so nothing is ever
 * written differently from the object path (test/sources/postgres/snapshot/binary-json.test.ts).
 */
import { quote, valueToJson } from '../../../core/values.ts';
import { numericText, type BinaryDecoder } from './binary-values.ts';

/** One non-NULL field of `len` bytes at `off` to value JSON. */
export type BinaryJson = (b: Buffer, off: number, len: number) => string;

/** Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01, as a double (exact). */
const PG_EPOCH_MICROS = 946_684_800_000_000;
/** Largest magnitude kept in a double on the fast path (below 2^53, with room for the epoch shift). */
const SAFE = 2 ** 53 - PG_EPOCH_MICROS - 1;
const TWO32 = 4_294_967_296;

/**
 * Decimal text of a safe integer. Large doubles print slowly in V8 (~250 ns here), two
 * small-integer halves print fast (~130 ns together).
 */
function intText(n: number): string {
  if (n < 0) return '-' + intText(-n);
  if (n < 1e9) return '' + n;
  const hi = Math.floor(n / 1e8);
  return '' + hi + ('' + (1e8 + (n - hi * 1e8))).slice(1);
}

/** Buffer's native UTF-8 decoder (what `toString('utf8', s, e)` calls after checking its arguments). */
interface NativeSlice {
  utf8Slice(start: number, end: number): string;
}

/**
 * Text to a JSON string. Decoded UTF-8 needs escaping only for control characters, `"` and `\`
 * (it never yields lone surrogates), and those are single bytes: look at the bytes instead of
 * running `quote`'s regex over the string. Anything to escape goes through `quote`.
 */
const utf8Json: BinaryJson = (b, off, len) => {
  const end = off + len;
  for (let i = off; i < end; i++) {
    const c = b[i] as number;
    if (c < 0x20 || c === 0x22 || c === 0x5c) return quote(b.toString('utf8', off, end));
  }
  return '"' + (b as unknown as NativeSlice).utf8Slice(off, end) + '"';
};

/** int8 `{"$i":"…"}`; outside ±2^53 through the decoder (bigint). */
function int8Json(decode: BinaryDecoder): BinaryJson {
  return (b, off, len) => {
    const hi = b.readInt32BE(off);
    const n = hi * TWO32 + b.readUInt32BE(off + 4);
    return n <= SAFE && n >= -SAFE ? '{"$i":"' + intText(n) + '"}' : valueToJson(decode(b, off, len));
  };
}

/** timestamp(tz) `{"$ts|$tz":"µs since 1970"}`; ±infinity and extreme values through the decoder. */
function timestampJson(tag: string, decode: BinaryDecoder): BinaryJson {
  const open = '{"' + tag + '":"';
  return (b, off, len) => {
    const n = b.readInt32BE(off) * TWO32 + b.readUInt32BE(off + 4);
    return n <= SAFE && n >= -SAFE ? open + intText(n + PG_EPOCH_MICROS) + '"}' : valueToJson(decode(b, off, len));
  };
}

/** The writer for a column whose binary decoder is `decode` and whose type OID (domains: base) is `oid`. */
export function binaryJsonFor(oid: number, decode: BinaryDecoder): BinaryJson {
  switch (oid) {
    case 16:
      return (b, off) => (b[off] === 1 ? 'true' : 'false');
    case 20:
      return int8Json(decode);
    case 21:
      return (b, off) => '' + b.readInt16BE(off);
    case 23:
      return (b, off) => '' + b.readInt32BE(off);
    case 18:
    case 19:
    case 25:
    case 1042:
    case 1043:
      return utf8Json;
    case 1114:
      return timestampJson('$ts', decode);
    case 1184:
      return timestampJson('$tz', decode);
    case 1700:
      // numeric text is digits, '-', '.', NaN or Infinity: nothing to escape.
      return (b, off) => '{"$n":"' + numericText(b, off) + '"}';
    default:
      return (b, off, len) => valueToJson(decode(b, off, len));
  }
}
