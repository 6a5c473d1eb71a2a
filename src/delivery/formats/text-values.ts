/**
 * Text forms of values for CSV: exact and unambiguous, matching what PostgreSQL and DuckDB
 * read back. Integers and decimals as digits, doubles as JavaScript prints them (round trip),
 * timestamps/dates/times as ISO 8601 (µs), intervals as ISO 8601 durations, bytes as base64,
 * lists and objects as the lossless JSON encoding.
 */
import { DateValue, Decimal, encodeValue, Interval, JsonText, TimeValue, Timestamp, type Value } from '../../core/values.ts';

/** The text of a non-null value. */
export function valueToText(v: Exclude<Value, null>): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return v.toString();
  }
  if (v instanceof Decimal || v instanceof JsonText) return v.text;
  if (v instanceof Timestamp || v instanceof DateValue || v instanceof TimeValue || v instanceof Interval) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return JSON.stringify(encodeValue(v));
}
