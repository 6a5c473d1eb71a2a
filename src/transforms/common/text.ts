/** Text forms of values shared by the transforms. */
import { DateValue, Decimal, JsonText, Timestamp, TimeValue, Interval, encodeValue, type Value } from '../../core/values.ts';

/**
 * Canonical text of a value for hashing: the same value hashes the same whatever carries it
 * (number 42, bigint 42n and the text "42" of a JSON key all give "42").
 */
export function canonicalText(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Decimal || v instanceof JsonText) return v.text;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Timestamp || v instanceof DateValue || v instanceof TimeValue || v instanceof Interval) return v.toISOString();
  return JSON.stringify(encodeValue(v));
}

