/**
 * Plain JSON view of a value for JSON Schema validation: the form users write schemas
 * against (numbers as numbers, timestamps and dates as ISO text, bytes as base64, JSON columns
 * as documents), not the lossless wire tags.
 */
import { DateValue, Decimal, Interval, JsonText, Timestamp, TimeValue, type Value } from '../../core/values.ts';

/** Converts a value to plain JSON data. */
export function toPlainJson(v: Value): unknown {
  switch (typeof v) {
    case 'bigint':
      // Validation needs "is an integer" and range checks, which a double answers for any int64.
      return Number(v);
    case 'object':
      break;
    default:
      return v;
  }
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(toPlainJson);
  if (v instanceof Decimal) return v.isFinite ? Number(v.text) : v.text;
  if (v instanceof Timestamp || v instanceof DateValue || v instanceof TimeValue || v instanceof Interval) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof JsonText) {
    try {
      return JSON.parse(v.text) as unknown;
    } catch {
      return v.text;
    }
  }
  const out: Record<string, unknown> = {};
  for (const k in v as Record<string, Value>) out[k] = toPlainJson((v as Record<string, Value>)[k] as Value);
  return out;
}
