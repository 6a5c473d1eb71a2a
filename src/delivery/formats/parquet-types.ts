/**
 * Maps Hydrant column types to DuckDB/Parquet column types and converts values for DuckDB's
 * appender. Where Parquet cannot hold a value exactly, the representation is lossless and
 * documented (docs/lake.md "Parquet types"):
 *
 * | Hydrant type            | Parquet (via DuckDB)                                   |
 * |-------------------------|--------------------------------------------------------|
 * | int16/int32/int64       | INT16/INT32/INT64                                      |
 * | decimal(p ≤ 38, s)      | DECIMAL(p,s); NaN/±Infinity → NULL + `<col>__special`   |
 * | decimal without p / >38 | STRING with the exact decimal text (incl. NaN/±Infinity)|
 * | float32/float64         | FLOAT/DOUBLE (NaN, ±Infinity, -0 are native)            |
 * | date                    | DATE; ±infinity → NULL + `<col>__special`               |
 * | timestamp / timestamptz | TIMESTAMP(µs) without/with UTC adjustment; ±infinity as date |
 * | time                    | TIME(µs)                                               |
 * | timetz, interval        | STRING, ISO 8601 (`10:00:00.000000+02:00`, `P14M3DT…S`) |
 * | uuid                    | UUID (FIXED_LEN_BYTE_ARRAY(16))                         |
 * | json, unknown           | JSON text (lossless encoding)                           |
 * | bytes                   | BLOB                                                   |
 * | list of T (n dimensions) | LIST<T>, nested n deep (special values inside fail the row) |
 *
 * `<col>__special` (STRING) exists in an object only when a row in it needs one; readers that
 * union objects by name see NULL elsewhere.
 */
import {
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  DuckDBBlobValue,
  DuckDBUUIDValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { ColumnType } from '../../core/schema.ts';
import { DateValue, Decimal, encodeValue, Interval, JsonText, Timestamp, TimeValue, type Value } from '../../core/values.ts';
import { valueToText } from './text-values.ts';

/** Suffix of the sibling column that holds special values (NaN, ±Infinity, ±infinity). */
export const SPECIAL_SUFFIX = '__special';

/** The DuckDB SQL type of a column. */
export function duckType(t: ColumnType): string {
  switch (t.kind) {
    case 'boolean': return 'BOOLEAN';
    case 'int16': return 'SMALLINT';
    case 'int32': return 'INTEGER';
    case 'int64': return 'BIGINT';
    case 'float32': return 'FLOAT';
    case 'float64': return 'DOUBLE';
    case 'string': case 'enum': case 'timetz': case 'interval': return 'VARCHAR';
    case 'uuid': return 'UUID';
    case 'json': case 'unknown': return 'JSON';
    case 'date': return 'DATE';
    case 'time': return 'TIME';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'bytes': return 'BLOB';
    case 'decimal': return boundedDecimal(t) ? `DECIMAL(${t.precision},${t.scale ?? 0})` : 'VARCHAR';
    case 'list': return `${duckType(t.element)}${'[]'.repeat(Math.max(1, t.dimensions ?? 1))}`;
  }
}

function boundedDecimal(t: { precision?: number; scale?: number }): t is { precision: number; scale?: number } {
  return t.precision !== undefined && t.precision >= 1 && t.precision <= 38;
}

/** The special marker of a value that the column's Parquet type cannot hold, or undefined. */
export function specialOf(t: ColumnType, v: Value): string | undefined {
  if (v === null) return undefined;
  if (t.kind === 'decimal' && boundedDecimal(t)) {
    if (v instanceof Decimal && !v.isFinite) return v.text;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  }
  if ((t.kind === 'timestamp' || t.kind === 'timestamptz') && v instanceof Timestamp && typeof v.micros === 'string') return v.micros;
  if (t.kind === 'date' && v instanceof DateValue && typeof v.days === 'string') return v.days;
  return undefined;
}

/** Whether a column type can need a `__special` sibling. */
export function canBeSpecial(t: ColumnType): boolean {
  return (t.kind === 'decimal' && boundedDecimal(t)) || t.kind === 'timestamp' || t.kind === 'timestamptz' || t.kind === 'date';
}

class Mismatch extends Error {}
const FAST_DEC = /^-?\d+\.\d+$/;
const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function mismatch(t: ColumnType, v: Value): never {
  const shown = (() => {
    try {
      return JSON.stringify(encodeValue(v)).slice(0, 80);
    } catch {
      return typeof v;
    }
  })();
  throw new Mismatch(`value ${shown} does not fit column type ${t.kind}${t.kind === 'decimal' ? `(${t.precision ?? ''},${t.scale ?? ''})` : ''}`);
}

/** Scaled integer of a finite decimal at `scale`; throws when it has more digits than allowed. */
function scaled(t: ColumnType & { kind: 'decimal' }, text: string): bigint {
  const p = t.precision as number;
  const s = t.scale ?? 0;
  // Fast path: exactly `s` fraction digits and few enough digits overall.
  const dot = text.indexOf('.');
  if (s > 0 && dot > 0 && text.length - dot - 1 === s && text.length <= p + 1 && text.length < 17 && FAST_DEC.test(text)) return BigInt(text.slice(0, dot) + text.slice(dot + 1));
  const neg = text.startsWith('-');
  const body = neg ? text.slice(1) : text;
  const [ip = '', fp = ''] = body.split('.');
  const frac = fp.replace(/0+$/, '');
  if (frac.length > s) throw new Mismatch(`decimal ${text} has more than ${s} fraction digits for decimal(${p},${s})`);
  const digits = (ip.replace(/^0+/, '') + frac.padEnd(s, '0')).replace(/^0+/, '');
  if (digits.length > p) throw new Mismatch(`decimal ${text} has more than ${p} digits for decimal(${p},${s})`);
  const n = BigInt(digits === '' ? '0' : digits);
  return neg ? -n : n;
}

function int(t: ColumnType, v: Value, bits: number): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (v instanceof Decimal && /^-?\d+$/.test(v.text)) n = BigInt(v.text);
  else mismatch(t, v);
  const lim = 1n << BigInt(bits - 1);
  if (n < -lim || n >= lim) mismatch(t, v);
  return n;
}

/** Converts a non-null, non-special value to a DuckDB value (for lists). */
export function toDuck(t: ColumnType, v: Exclude<Value, null>): DuckDBValue {
  switch (t.kind) {
    case 'boolean':
      if (typeof v !== 'boolean') mismatch(t, v);
      return v;
    case 'int16': return Number(int(t, v, 16));
    case 'int32': return typeof v === 'number' && (v | 0) === v ? v : Number(int(t, v, 32));
    case 'int64': return typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX ? v : int(t, v, 64);
    case 'float32': case 'float64':
      if (typeof v === 'number') return v;
      if (v instanceof Decimal) return Number(v.text);
      return mismatch(t, v);
    case 'string': case 'enum':
      if (typeof v !== 'string') mismatch(t, v);
      return v;
    case 'uuid':
      if (typeof v !== 'string' || !UUID_RE.test(v)) return mismatch(t, v);
      return DuckDBUUIDValue.fromUint128(BigInt('0x' + v.replace(/-/g, '')));
    case 'timetz': case 'interval':
      if (!(v instanceof TimeValue || v instanceof Interval || typeof v === 'string')) mismatch(t, v);
      return valueToText(v);
    case 'json': case 'unknown':
      return v instanceof JsonText ? v.text : JSON.stringify(encodeValue(v));
    case 'date':
      if (!(v instanceof DateValue) || typeof v.days !== 'number') return mismatch(t, v);
      return new DuckDBDateValue(v.days);
    case 'time':
      if (!(v instanceof TimeValue)) return mismatch(t, v);
      return new DuckDBTimeValue(v.micros);
    case 'timestamp': case 'timestamptz':
      if (!(v instanceof Timestamp) || typeof v.micros !== 'bigint') return mismatch(t, v);
      return t.kind === 'timestamp' ? new DuckDBTimestampValue(v.micros) : new DuckDBTimestampTZValue(v.micros);
    case 'bytes':
      if (!(v instanceof Uint8Array)) return mismatch(t, v);
      return new DuckDBBlobValue(v);
    case 'decimal': {
      const text = v instanceof Decimal ? v.text : typeof v === 'number' || typeof v === 'bigint' ? String(v) : mismatch(t, v);
      if (!boundedDecimal(t)) return text;
      if (!/^-?\d/.test(text)) mismatch(t, v);
      return new DuckDBDecimalValue(scaled(t, text), t.precision, t.scale ?? 0);
    }
    case 'list': {
      if (!Array.isArray(v)) return mismatch(t, v);
      // Multi-dimensional arrays (PostgreSQL int[][]) are lists of lists.
      const el: ColumnType = (t.dimensions ?? 1) > 1 ? { kind: 'list', element: t.element, dimensions: (t.dimensions ?? 1) - 1 } : t.element;
      return new DuckDBListValue((v as readonly Value[]).map((x) => {
        if (x === null) return null;
        if (specialOf(el, x) !== undefined) throw new Mismatch(`list element ${valueToText(x)} cannot be stored in a Parquet list of ${el.kind}`);
        return toDuck(el, x);
      }));
    }
  }
}
