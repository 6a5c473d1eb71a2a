/**
 * Hydrant's in-memory value model and its one lossless wire codec.
 *
 * JSON loses 64-bit integers, exact decimals, NaN/±Infinity, -0, microsecond and BC
 * timestamps, intervals and bytes. Every path (stream, errors, lake JSON) therefore encodes
 * values with {@link encodeValue}: plain JSON where JSON is exact, and single-key tagged
 * objects (`{"$i":"9007199254740993"}`) where it is not. Tags (wire format version 1):
 *
 * | tag   | value                         | payload                                   |
 * |-------|-------------------------------|-------------------------------------------|
 * | `$i`  | bigint                        | decimal string                            |
 * | `$f`  | NaN, Infinity, -Infinity, -0  | `"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"` |
 * | `$n`  | {@link Decimal}               | exact decimal string, `NaN`, `±Infinity`  |
 * | `$ts` | {@link Timestamp} without tz  | µs since 1970-01-01 as string, or `infinity`/`-infinity` |
 * | `$tz` | {@link Timestamp} with tz     | same, UTC                                 |
 * | `$d`  | {@link DateValue}             | days since 1970-01-01 (number) or `infinity`/`-infinity` |
 * | `$t`  | {@link TimeValue} without tz  | µs since midnight as string               |
 * | `$tt` | {@link TimeValue} with tz     | `[µs string, offset seconds east of UTC]` |
 * | `$iv` | {@link Interval}              | `[months, days, µs string]`               |
 * | `$b`  | bytes (Uint8Array)            | base64                                    |
 * | `$j`  | {@link JsonText}              | the JSON document's exact text            |
 * | `$o`  | object whose keys start `$`   | the object, keys as they are              |
 *
 * Finite numbers are plain JSON numbers: JavaScript prints doubles so they parse back to the
 * same double. A value's column type comes from the table schema (see `schema.ts`), so a
 * `string` may be text, uuid or an enum label, and a `number` is always a double.
 */
import { CodecError } from './errors.ts';
import type { JsonByteWriter } from './json-bytes.ts';

/** Exact decimal (PostgreSQL numeric): digits kept as text, never through a float. */
export class Decimal {
  /** `-?digits(.digits)?`, or `NaN`, `Infinity`, `-Infinity`. Scale (trailing zeros) is kept. */
  readonly text: string;
  /**
   * `trusted`: the text comes from a formatter known to print only valid decimals (PostgreSQL's
   * numeric output, our binary numeric decoder), so the check is skipped on hot paths (~5% of
   * the change stream's CPU per row).
   */
  constructor(text: string, trusted = false) {
    if (!trusted && !DECIMAL_RE.test(text)) throw new CodecError(`invalid decimal ${JSON.stringify(text.slice(0, 40))}: expected digits with an optional fraction, NaN, Infinity or -Infinity`);
    this.text = text;
  }
  /** Digits after the point. */
  get scale(): number {
    const i = this.text.indexOf('.');
    return i < 0 ? 0 : this.text.length - i - 1;
  }
  get isFinite(): boolean {
    return this.text !== 'NaN' && this.text !== 'Infinity' && this.text !== '-Infinity';
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}
const DECIMAL_RE = /^(?:-?(?:\d+(?:\.\d*)?|\.\d+)|NaN|Infinity|-Infinity)$/;

/** Infinite bounds that PostgreSQL allows for dates and timestamps. */
export type Infinite = 'infinity' | '-infinity';

/** A point in time with microsecond precision, any year (BC included), or ±infinity. */
export class Timestamp {
  /** Microseconds since 1970-01-01T00:00:00 (UTC when `withTimeZone`), or ±infinity. */
  readonly micros: bigint | Infinite;
  /** true for `timestamptz` (an instant); false for a wall-clock `timestamp`. */
  readonly withTimeZone: boolean;
  constructor(micros: bigint | Infinite, withTimeZone: boolean) {
    this.micros = micros;
    this.withTimeZone = withTimeZone;
  }
  /** From epoch milliseconds (e.g. `Date.now()`), as an instant. */
  static fromMillis(ms: number, withTimeZone = true): Timestamp {
    return new Timestamp(BigInt(Math.trunc(ms)) * 1000n, withTimeZone);
  }
  /** Epoch milliseconds (floored), or ±Infinity. */
  toMillis(): number {
    if (this.micros === 'infinity') return Infinity;
    if (this.micros === '-infinity') return -Infinity;
    return Number(floorDiv(this.micros, 1000n));
  }
  /** ISO 8601 with 6 fraction digits; years outside 0..9999 use the signed 6-digit form. */
  toISOString(): string {
    if (typeof this.micros !== 'bigint') return this.micros;
    return formatMicros(this.micros) + (this.withTimeZone ? 'Z' : '');
  }
  toJSON(): string {
    return this.toISOString();
  }
}

/** A calendar date (any year), or ±infinity. */
export class DateValue {
  /** Days since 1970-01-01 (proleptic Gregorian), or ±infinity. */
  readonly days: number | Infinite;
  constructor(days: number | Infinite) {
    if (typeof days === 'number' && !Number.isSafeInteger(days)) throw new CodecError(`invalid date: ${days} days is not an integer`);
    this.days = days;
  }
  toISOString(): string {
    if (typeof this.days !== 'number') return this.days;
    const { y, m, d } = civilFromDays(this.days);
    return `${formatYear(y)}-${pad(m, 2)}-${pad(d, 2)}`;
  }
  toJSON(): string {
    return this.toISOString();
  }
}

/** A time of day with µs precision, optionally with a UTC offset (timetz). */
export class TimeValue {
  /** Microseconds since midnight, 0..86_400_000_000 (24:00:00 is allowed, as in PostgreSQL). */
  readonly micros: bigint;
  /** Seconds east of UTC for `timetz`; undefined for `time`. */
  readonly offsetSeconds: number | undefined;
  constructor(micros: bigint, offsetSeconds?: number) {
    if (micros < 0n || micros > 86_400_000_000n) throw new CodecError(`invalid time: ${micros} µs is outside 0..24h`);
    this.micros = micros;
    this.offsetSeconds = offsetSeconds;
  }
  toISOString(): string {
    const s = formatTimeOfDay(this.micros);
    if (this.offsetSeconds === undefined) return s;
    const o = Math.abs(this.offsetSeconds);
    const sign = this.offsetSeconds < 0 ? '-' : '+';
    const tail = o % 60 === 0 ? '' : `:${pad(o % 60, 2)}`;
    return `${s}${sign}${pad(Math.floor(o / 3600), 2)}:${pad(Math.floor(o / 60) % 60, 2)}${tail}`;
  }
  toJSON(): string {
    return this.toISOString();
  }
}

/** PostgreSQL interval: months, days and microseconds are independent fields. */
export class Interval {
  readonly months: number;
  readonly days: number;
  readonly micros: bigint;
  constructor(months: number, days: number, micros: bigint) {
    this.months = months;
    this.days = days;
    this.micros = micros;
  }
  /** ISO 8601 duration, e.g. `P1Y2M3DT4H5M6.000007S`. */
  toISOString(): string {
    const neg = this.micros < 0n;
    const us = neg ? -this.micros : this.micros;
    const h = us / 3_600_000_000n;
    const m = (us / 60_000_000n) % 60n;
    const s = (us % 60_000_000n);
    const sec = `${s / 1_000_000n}.${(s % 1_000_000n).toString().padStart(6, '0')}`;
    const sg = neg ? '-' : '';
    return `P${this.months}M${this.days}DT${sg}${h}H${sg}${m}M${sg}${sec}S`;
  }
  toJSON(): string {
    return this.toISOString();
  }
}

/** A JSON document kept as its exact text, so big integers and key order survive. */
export class JsonText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toJSON(): string {
    return this.text;
  }
}

/** Every value a column or event field can hold. */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Decimal
  | Timestamp
  | DateValue
  | TimeValue
  | Interval
  | JsonText
  | Uint8Array
  | readonly Value[]
  | { readonly [key: string]: Value };

/** A row: column name to value. */
export type Row = { [column: string]: Value };

/** JSON-compatible output of {@link encodeValue}. */
export type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

/** Encodes a value into JSON-compatible data without losing anything (see the module doc). */
export function encodeValue(v: Value): Encoded {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (Number.isFinite(v) && !Object.is(v, -0)) return v;
      return { $f: Object.is(v, -0) ? '-0' : String(v) };
    case 'bigint':
      return { $i: v.toString() };
    case 'object':
      break;
    default:
      throw new CodecError(`cannot encode a value of type ${typeof v}`);
  }
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(encodeValue);
  if (v instanceof Uint8Array) return { $b: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v instanceof Decimal) return { $n: v.text };
  if (v instanceof Timestamp) return v.withTimeZone ? { $tz: String(v.micros) } : { $ts: String(v.micros) };
  if (v instanceof DateValue) return { $d: v.days };
  if (v instanceof TimeValue) return v.offsetSeconds === undefined ? { $t: v.micros.toString() } : { $tt: [v.micros.toString(), v.offsetSeconds] };
  if (v instanceof Interval) return { $iv: [v.months, v.days, v.micros.toString()] };
  if (v instanceof JsonText) return { $j: v.text };
  const obj = v as { readonly [key: string]: Value };
  const out: { [key: string]: Encoded } = {};
  let dollar = false;
  for (const k in obj) {
    if (k.charCodeAt(0) === 36 /* $ */) dollar = true;
    setOwn(out, k, encodeValue(obj[k] as Value));
  }
  return dollar ? { $o: out } : out;
}

/**
 * The JSON text of {@link encodeValue}`(v)`, written directly: byte for byte what
 * `JSON.stringify(encodeValue(v))` gives, without building the intermediate objects (the
 * stream's hot path encodes every value of every event).
 */
export function valueToJson(v: Value): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (Number.isFinite(v) && !Object.is(v, -0)) return String(v);
      return Object.is(v, -0) ? '{"$f":"-0"}' : `{"$f":"${String(v)}"}`;
    case 'bigint':
      return `{"$i":"${v.toString()}"}`;
    case 'object':
      break;
    default:
      throw new CodecError(`cannot encode a value of type ${typeof v}`);
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) return arrayToJson(v as readonly Value[]);
  if (v instanceof Uint8Array) return `{"$b":"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"}`;
  if (v instanceof Decimal) return `{"$n":${quote(v.text)}}`;
  if (v instanceof Timestamp) return (v.withTimeZone ? '{"$tz":' : '{"$ts":') + (typeof v.micros === 'bigint' ? `"${v.micros.toString()}"}` : `${quote(String(v.micros))}}`);
  if (v instanceof DateValue) return `{"$d":${JSON.stringify(v.days)}}`;
  if (v instanceof TimeValue) return v.offsetSeconds === undefined ? `{"$t":"${v.micros.toString()}"}` : `{"$tt":["${v.micros.toString()}",${JSON.stringify(v.offsetSeconds)}]}`;
  if (v instanceof Interval) return `{"$iv":[${JSON.stringify(v.months)},${JSON.stringify(v.days)},"${v.micros.toString()}"]}`;
  if (v instanceof JsonText) return `{"$j":${quote(v.text)}}`;
  const obj = v as { readonly [key: string]: Value };
  let out = '';
  let dollar = false;
  for (const k in obj) {
    if (k.charCodeAt(0) === 36 /* $ */) dollar = true;
    out += (out === '' ? '' : ',') + quoteKey(k) + ':' + valueToJson(obj[k] as Value);
  }
  return dollar ? `{"$o":{${out}}}` : `{${out}}`;
}

/**
 * Writes the JSON text of {@link encodeValue}`(v)` as UTF-8 into `w`: the same bytes as
 * `Buffer.from(valueToJson(v))`, without building strings (see `json-bytes.ts`).
 */
export function writeValueJson(w: JsonByteWriter, v: Value): void {
  switch (typeof v) {
    case 'string':
      return w.string(v);
    case 'boolean':
      return w.ascii(v ? 'true' : 'false');
    case 'number':
      if (Number.isFinite(v) && !Object.is(v, -0)) return w.ascii(String(v));
      return w.ascii(Object.is(v, -0) ? '{"$f":"-0"}' : `{"$f":"${String(v)}"}`);
    case 'bigint':
      w.ascii('{"$i":"');
      w.ascii(v.toString());
      return w.ascii('"}');
    case 'object':
      break;
    default:
      throw new CodecError(`cannot encode a value of type ${typeof v}`);
  }
  if (v === null) return w.ascii('null');
  if (Array.isArray(v)) {
    const a = v as readonly Value[];
    w.byte(91 /* [ */);
    for (let i = 0; i < a.length; i++) {
      if (i > 0) w.byte(44 /* , */);
      const x = a[i];
      // A hole: encodeValue's map() keeps it, and JSON.stringify writes it as null.
      if (x === undefined && !(i in a)) w.ascii('null');
      else writeValueJson(w, x as Value);
    }
    return w.byte(93 /* ] */);
  }
  if (v instanceof Decimal) {
    w.ascii('{"$n":');
    w.string(v.text);
    return w.byte(125 /* } */);
  }
  if (v instanceof Timestamp && typeof v.micros === 'bigint') {
    w.ascii(v.withTimeZone ? '{"$tz":"' : '{"$ts":"');
    w.ascii(v.micros.toString());
    return w.ascii('"}');
  }
  if (v instanceof Uint8Array || v instanceof Timestamp || v instanceof DateValue || v instanceof TimeValue || v instanceof Interval || v instanceof JsonText) {
    // Rarer types: valueToJson's text, already escaped (JsonText and base64 may be long, but are written natively).
    return w.text(valueToJson(v));
  }
  const obj = v as { readonly [key: string]: Value };
  let dollar = false;
  for (const k in obj) {
    if (k.charCodeAt(0) === 36 /* $ */) {
      dollar = true;
      break;
    }
  }
  w.ascii(dollar ? '{"$o":{' : '{');
  let first = true;
  for (const k in obj) {
    if (first) first = false;
    else w.byte(44 /* , */);
    w.key(k);
    writeValueJson(w, obj[k] as Value);
  }
  w.ascii(dollar ? '}}' : '}');
}

function arrayToJson(a: readonly Value[]): string {
  let out = '[';
  for (let i = 0; i < a.length; i++) {
    if (i > 0) out += ',';
    const x = a[i];
    // A hole: encodeValue's map() keeps it, and JSON.stringify writes it as null.
    out += x === undefined && !(i in a) ? 'null' : valueToJson(x as Value);
  }
  return out + ']';
}

/** Characters JSON.stringify escapes in a string (plus surrogates, which it escapes when lone). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON string literal, exactly as JSON.stringify writes it. */
export function quote(s: string): string {
  // Plain text (the common case) needs no escaping; JSON.stringify handles the rest.
  return s.length < 64 && !NEEDS_ESCAPE.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** Quoted column names repeat on every row: remember them (bounded, so odd keys cannot grow it). */
const keyCache = new Map<string, string>();
/** `JSON.stringify(k)` for an object key, cached. */
export function quoteKey(k: string): string {
  let q = keyCache.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (keyCache.size >= 4096) keyCache.clear();
    keyCache.set(k, q);
  }
  return q;
}

/** Inverse of {@link encodeValue}. Throws {@link CodecError} on malformed input. */
export function decodeValue(e: unknown): Value {
  switch (typeof e) {
    case 'string':
    case 'boolean':
    case 'number':
      return e;
    case 'object':
      break;
    default:
      throw new CodecError(`cannot decode a value of type ${typeof e}`);
  }
  if (e === null) return null;
  if (Array.isArray(e)) return e.map(decodeValue);
  const o = e as Record<string, unknown>;
  let tag: string | undefined;
  let n = 0;
  for (const k in o) {
    if (n++ > 0) {
      tag = undefined;
      break;
    }
    tag = k;
  }
  if (tag !== undefined && tag.charCodeAt(0) === 36) return decodeTagged(tag, o[tag]);
  const out: { [key: string]: Value } = {};
  for (const k in o) setOwn(out, k, decodeValue(o[k]));
  return out;
}

/**
 * Like {@link decodeValue}, but reuses the objects and arrays of `e` for the decoded value
 * (only tagged values are replaced), so `e` must be freshly parsed JSON that nobody else holds.
 * The stream's read path decodes every record this way and skips a copy of every row.
 */
export function decodeParsedValue(e: unknown): Value {
  if (typeof e !== 'object') {
    if (typeof e === 'string' || typeof e === 'number' || typeof e === 'boolean') return e;
    throw new CodecError(`cannot decode a value of type ${typeof e}`);
  }
  if (e === null) return null;
  if (Array.isArray(e)) {
    for (let i = 0; i < e.length; i++) {
      const x: unknown = e[i];
      if ((typeof x === 'object' && x !== null) || (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean' && x !== null)) e[i] = decodeParsedValue(x);
    }
    return e as Value[];
  }
  const o = e as Record<string, unknown>;
  // One pass over the keys: a tagged value is exactly one key starting with `$`.
  let tag: string | undefined;
  let n = 0;
  for (const k in o) {
    if (n++ > 0) {
      tag = undefined;
      break;
    }
    if (k.charCodeAt(0) !== 36) break;
    tag = k;
  }
  return tag === undefined ? decodeObjectInPlace(o) : decodeTagged(tag, o[tag], true);
}

/** Decodes every property value of a parsed object in place (no tag check on the object itself). */
function decodeObjectInPlace(o: Record<string, unknown>): { [key: string]: Value } {
  for (const k in o) {
    const x = o[k];
    // Strings, numbers and booleans decode to themselves: leave them where they are.
    if ((typeof x === 'object' && x !== null) || (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean' && x !== null)) setOwn(o, k, decodeParsedValue(x));
  }
  return o as { [key: string]: Value };
}

function decodeTagged(tag: string, p: unknown, inPlace = false): Value {
  try {
    switch (tag) {
      case '$i':
        return BigInt(str(p));
      case '$f':
        if (p === '-0') return -0;
        if (p === 'NaN' || p === 'Infinity' || p === '-Infinity') return Number(p);
        break;
      case '$n':
        return new Decimal(str(p));
      case '$ts':
      case '$tz':
        return new Timestamp(p === 'infinity' || p === '-infinity' ? p : BigInt(str(p)), tag === '$tz');
      case '$d':
        if (p === 'infinity' || p === '-infinity' || typeof p === 'number') return new DateValue(p);
        break;
      case '$t':
        return new TimeValue(BigInt(str(p)));
      case '$tt':
        if (Array.isArray(p) && p.length === 2 && typeof p[1] === 'number') return new TimeValue(BigInt(str(p[0])), p[1]);
        break;
      case '$iv':
        if (Array.isArray(p) && p.length === 3 && typeof p[0] === 'number' && typeof p[1] === 'number') return new Interval(p[0], p[1], BigInt(str(p[2])));
        break;
      case '$b':
        return new Uint8Array(Buffer.from(str(p), 'base64'));
      case '$j':
        return new JsonText(str(p));
      case '$o': {
        if (typeof p !== 'object' || p === null || Array.isArray(p)) break;
        if (inPlace) return decodeObjectInPlace(p as Record<string, unknown>);
        const out: { [key: string]: Value } = {};
        for (const k in p) setOwn(out, k, decodeValue((p as Record<string, unknown>)[k]));
        return out;
      }
    }
  } catch (err) {
    if (err instanceof CodecError) throw err;
    throw new CodecError(`malformed ${tag} value ${JSON.stringify(p)?.slice(0, 60)}: ${(err as Error).message}`, { cause: err });
  }
  throw new CodecError(`malformed or unknown tagged value ${tag}: ${JSON.stringify(p)?.slice(0, 60)}`);
}

/** Sets an own property, including a key named `__proto__` (which plain assignment would turn into a prototype change). */
function setOwn<T>(o: { [key: string]: T }, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function str(p: unknown): string {
  if (typeof p !== 'string') throw new CodecError(`expected a string payload, found ${typeof p}`);
  return p;
}

/** Deep equality on values, treating NaN as equal to NaN and -0 as distinct from 0. */
export function valuesEqual(a: Value, b: Value): boolean {
  return valueToJson(a) === valueToJson(b);
}

// ---- calendar arithmetic (proleptic Gregorian, any year; H. Hinnant's civil algorithms) ----

/** Converts days since 1970-01-01 to a civil date. Year 0 is 1 BC. */
export function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** Converts a civil date (year 0 = 1 BC) to days since 1970-01-01. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

function formatYear(y: number): string {
  if (y >= 0 && y <= 9999) return pad(y, 4);
  return (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
}

function formatTimeOfDay(us: bigint): string {
  const s = us / 1_000_000n;
  const frac = us % 1_000_000n;
  return `${pad(Number(s / 3600n), 2)}:${pad(Number((s / 60n) % 60n), 2)}:${pad(Number(s % 60n), 2)}.${frac.toString().padStart(6, '0')}`;
}

/** Formats µs since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffff` (no zone suffix). */
export function formatMicros(micros: bigint): string {
  const day = floorDiv(micros, 86_400_000_000n);
  const rem = micros - day * 86_400_000_000n;
  const { y, m, d } = civilFromDays(Number(day));
  return `${formatYear(y)}-${pad(m, 2)}-${pad(d, 2)}T${formatTimeOfDay(rem)}`;
}
