/**
 * Parsers for PostgreSQL's text output format, for the session settings in
 * `SESSION_OPTIONS` (DateStyle ISO, IntervalStyle iso_8601, TimeZone UTC, bytea hex). Each
 * returns a lossless {@link Value}: int8 as bigint, numeric as {@link Decimal}, times with
 * microseconds (BC and ±infinity included), json as its exact text. Nothing goes through a float
 * except float4/float8 themselves.
 */
import { CodecError } from '../../core/errors.ts';
import { DateValue, daysFromCivil, Decimal, Interval, JsonText, Timestamp, TimeValue, type Value } from '../../core/values.ts';

/** A text-format parser. */
export type TextParser = (text: string) => Value;

/** `t` / `f`. */
export const parseBool: TextParser = (s) => s === 't';
/** int2, int4: exact in a double. */
export const parseInt32: TextParser = (s) => Number(s);
/** int8, oid: bigint, never through a double. */
export const parseInt64: TextParser = (s) => BigInt(s);
/** float4, float8 (NaN, Infinity, -Infinity, -0 included). */
export const parseFloat: TextParser = (s) => Number(s);
/** numeric: exact text (NaN, ±Infinity included). */
export const parseNumeric: TextParser = (s) => new Decimal(s);
/** Text-like types as they are. */
export const parseString: TextParser = (s) => s;
/** json, jsonb: the exact document text. */
export const parseJson: TextParser = (s) => new JsonText(s);

const DATE_RE = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/;

/** `YYYY-MM-DD[ BC]` or ±infinity. */
export const parseDate: TextParser = (s) => {
  if (s === 'infinity' || s === '-infinity') return new DateValue(s);
  const m = DATE_RE.exec(s);
  if (m === null) throw bad('date', s);
  return new DateValue(daysFromCivil(year(m[1] as string, m[4]), Number(m[2]), Number(m[3])));
};

const TS_RE = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-]\d\d(?::\d\d(?::\d\d)?)?)?( BC)?$/;

/** `YYYY-MM-DD HH:MM:SS[.ffffff][+zz[:mm[:ss]]][ BC]` or ±infinity. */
function parseTs(s: string, withTimeZone: boolean): Timestamp {
  const fast = fastTs(s);
  if (fast !== undefined) return new Timestamp(fast, withTimeZone);
  if (s === 'infinity' || s === '-infinity') return new Timestamp(s, withTimeZone);
  const m = TS_RE.exec(s);
  if (m === null) throw bad(withTimeZone ? 'timestamptz' : 'timestamp', s);
  const days = daysFromCivil(year(m[1] as string, m[9]), Number(m[2]), Number(m[3]));
  let micros = BigInt(days) * 86_400_000_000n + BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6])) * 1_000_000n + fraction(m[7]);
  if (m[8] !== undefined) micros -= BigInt(offsetSeconds(m[8])) * 1_000_000n;
  return new Timestamp(micros, withTimeZone);
}
const d2 = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;

/**
 * Fast path for the common shape: a 4-digit AD year and an offset of whole hours (or none).
 * Returns undefined for anything else, which the regular expression path then handles.
 */
function fastTs(s: string): bigint | undefined {
  const n = s.length;
  if (n < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58) return undefined;
  const y = d2(s, 0) * 100 + d2(s, 2);
  const mo = d2(s, 5);
  const d = d2(s, 8);
  const secs = d2(s, 11) * 3600 + d2(s, 14) * 60 + d2(s, 17);
  if (Number.isNaN(y + mo + d + secs)) return undefined;
  let i = 19;
  let frac = 0;
  if (s.charCodeAt(i) === 46) {
    let digits = 0;
    i++;
    while (i < n) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      frac = frac * 10 + c;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 6) return undefined;
    for (; digits < 6; digits++) frac *= 10;
  }
  let offset = 0;
  if (i < n) {
    const sign = s.charCodeAt(i);
    if ((sign !== 43 && sign !== 45) || n !== i + 3) return undefined;
    offset = d2(s, i + 1) * 3600 * (sign === 45 ? -1 : 1);
    if (Number.isNaN(offset)) return undefined;
  }
  // Seconds since 1970 stay far inside 2^53; only the µs scaling needs bigint.
  const seconds = daysFromCivil(y, mo, d) * 86400 + secs - offset;
  return BigInt(seconds) * 1_000_000n + BigInt(frac);
}

/** timestamp without time zone. */
export const parseTimestamp: TextParser = (s) => parseTs(s, false);
/** timestamptz (the session prints it in UTC). */
export const parseTimestamptz: TextParser = (s) => parseTs(s, true);

const TIME_RE = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-]\d\d(?::\d\d(?::\d\d)?)?)?$/;

function parseTimeOfDay(s: string, tz: boolean): TimeValue {
  const m = TIME_RE.exec(s);
  if (m === null || (m[5] !== undefined) !== tz) throw bad(tz ? 'timetz' : 'time', s);
  const micros = BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1_000_000n + fraction(m[4]);
  return new TimeValue(micros, m[5] === undefined ? undefined : offsetSeconds(m[5]));
}
/** time without time zone. */
export const parseTime: TextParser = (s) => parseTimeOfDay(s, false);
/** timetz with its offset. */
export const parseTimetz: TextParser = (s) => parseTimeOfDay(s, true);

const IV_RE = /^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?)(\d+)(?:\.(\d{1,6}))?S)?)?$/;

/** ISO 8601 interval as printed with `IntervalStyle=iso_8601`, e.g. `P1Y2M3DT4H5M6.5S`. */
export const parseInterval: TextParser = (s) => {
  if (s === 'PT0S') return new Interval(0, 0, 0n);
  const m = IV_RE.exec(s);
  if (m === null) throw bad('interval', s);
  const months = Number(m[1] ?? 0) * 12 + Number(m[2] ?? 0);
  const days = Number(m[3] ?? 0) * 7 + Number(m[4] ?? 0);
  let secMicros = 0n;
  if (m[8] !== undefined) {
    secMicros = BigInt(m[8]) * 1_000_000n + fraction(m[9]);
    if (m[7] === '-') secMicros = -secMicros;
  }
  const micros = BigInt(m[5] ?? 0) * 3_600_000_000n + BigInt(m[6] ?? 0) * 60_000_000n + secMicros;
  return new Interval(months, days, micros);
};

/** `\x` hex bytea. */
export const parseBytea: TextParser = (s) => {
  if (!s.startsWith('\\x')) throw bad('bytea', s);
  return new Uint8Array(Buffer.from(s.slice(2), 'hex'));
};

/**
 * Array literal: `{1,2,NULL}`, `{{1,2},{3,4}}`, `{"a b","x\"y"}`, with an optional
 * `[lo:hi]=` dimension prefix (lower bounds are dropped: a list keeps order, not subscripts).
 */
export function parseArray(s: string, element: TextParser, delimiter = ','): Value[] {
  let i = 0;
  if (s.charCodeAt(0) === 91 /* [ */) {
    i = s.indexOf('=') + 1;
    if (i === 0) throw bad('array', s);
  }
  const delim = delimiter.charCodeAt(0);
  const parseLevel = (): Value[] => {
    if (s.charCodeAt(i) !== 123 /* { */) throw bad('array', s);
    i++;
    const out: Value[] = [];
    if (s.charCodeAt(i) === 125 /* } */) {
      i++;
      return out;
    }
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 123) out.push(parseLevel());
      else if (c === 34 /* " */) {
        i++;
        let v = '';
        let start = i;
        for (;;) {
          const d = s.charCodeAt(i);
          if (Number.isNaN(d)) throw bad('array', s);
          if (d === 92 /* \ */) {
            v += s.slice(start, i) + s[i + 1];
            i += 2;
            start = i;
          } else if (d === 34) {
            v += s.slice(start, i);
            i++;
            break;
          } else i++;
        }
        out.push(element(v));
      } else {
        const start = i;
        while (i < s.length && s.charCodeAt(i) !== delim && s.charCodeAt(i) !== 125) i++;
        const raw = s.slice(start, i).trim();
        out.push(raw === 'NULL' ? null : element(raw));
      }
      const e = s.charCodeAt(i);
      i++;
      if (e === 125) return out;
      if (e !== delim) throw bad('array', s);
    }
  };
  const out = parseLevel();
  if (i !== s.length) throw bad('array', s);
  return out;
}

function year(digits: string, bc: string | undefined): number {
  const y = Number(digits);
  // Year 1 BC is astronomical year 0.
  return bc === undefined ? y : 1 - y;
}

function fraction(f: string | undefined): bigint {
  return f === undefined ? 0n : BigInt(f.padEnd(6, '0'));
}

/** `+05`, `-03:30`, `+00:53:28` → seconds east of UTC. */
function offsetSeconds(z: string): number {
  const sign = z[0] === '-' ? -1 : 1;
  const [h, mi, se] = z.slice(1).split(':');
  return sign * (Number(h) * 3600 + Number(mi ?? 0) * 60 + Number(se ?? 0));
}

function bad(type: string, s: string): CodecError {
  return new CodecError(`cannot parse PostgreSQL ${type} value ${JSON.stringify(s.slice(0, 80))}: the replication session must use DateStyle=ISO, IntervalStyle=iso_8601, bytea_output=hex`);
}
