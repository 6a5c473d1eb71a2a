/**
 * The inverse of the lake delivery's Parquet column mapping (`src/delivery/formats/
 * parquet-types.ts`): DuckDB values read from a change object back to Hydrant values, using
 * the table schema's column type and the `<col>__special` sibling for values Parquet cannot
 * hold (NaN/±Infinity decimals, ±infinity dates and timestamps).
 */
import { DuckDBDecimalValue, type DuckDBBlobValue, type DuckDBDateValue, type DuckDBListValue, type DuckDBTimestampValue, type DuckDBTimeValue, type DuckDBValue } from '@duckdb/node-api';
import type { ColumnType } from '../../core/schema.ts';
import { DateValue, Decimal, decodeValue, Interval, JsonText, Timestamp, TimeValue, type Value } from '../../core/values.ts';
import { CodecError } from '../../core/errors.ts';

/** A Hydrant value from a change object's DuckDB value (`special` is the `__special` sibling). */
export function fromChangeValue(t: ColumnType, v: DuckDBValue, special: string | null = null): Value {
  if (special !== null) {
    if (t.kind === 'decimal') return new Decimal(special);
    if (t.kind === 'date') return new DateValue(special as 'infinity' | '-infinity');
    if (t.kind === 'timestamp' || t.kind === 'timestamptz') return new Timestamp(special as 'infinity' | '-infinity', t.kind === 'timestamptz');
  }
  if (v === null) return null;
  switch (t.kind) {
    case 'boolean': case 'int16': case 'int32': case 'float32': case 'float64': case 'string': case 'enum':
      return v as Value;
    case 'int64': return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'uuid': return String(v);
    case 'json': return new JsonText(String(v));
    case 'unknown': return tryCodec(String(v));
    case 'timetz': return parseTimeTz(String(v));
    case 'interval': return parseInterval(String(v));
    case 'date': return new DateValue((v as DuckDBDateValue).days);
    case 'time': return new TimeValue((v as DuckDBTimeValue).micros);
    case 'timestamp': case 'timestamptz': return new Timestamp((v as DuckDBTimestampValue).micros, t.kind === 'timestamptz');
    case 'bytes': return (v as DuckDBBlobValue).bytes;
    case 'decimal': return v instanceof DuckDBDecimalValue ? new Decimal(decimalText(v)) : new Decimal(String(v));
    case 'list': return (v as DuckDBListValue).items.map((x) => fromChangeValue(t.element, x));
  }
}

/** Exact text of a DuckDB decimal, keeping its scale (trailing zeros). */
function decimalText(d: DuckDBDecimalValue): string {
  const neg = d.value < 0n;
  const digits = (neg ? -d.value : d.value).toString().padStart(d.scale + 1, '0');
  const body = d.scale === 0 ? digits : `${digits.slice(0, -d.scale)}.${digits.slice(-d.scale)}`;
  return neg ? `-${body}` : body;
}

function tryCodec(text: string): Value {
  try {
    return decodeValue(JSON.parse(text));
  } catch {
    return new JsonText(text);
  }
}

/** Parses `HH:MM:SS.ffffff±HH:MM[:SS]` (TimeValue.toISOString). */
export function parseTimeTz(s: string): TimeValue {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (m === null) throw new CodecError(`cannot read timetz ${JSON.stringify(s)} from a change object: expected HH:MM:SS.ffffff±HH:MM`);
  const micros = (BigInt(m[1] as string) * 3600n + BigInt(m[2] as string) * 60n + BigInt(m[3] as string)) * 1_000_000n + BigInt((m[4] ?? '').padEnd(6, '0'));
  const off = Number(m[6]) * 3600 + Number(m[7]) * 60 + Number(m[8] ?? 0);
  return new TimeValue(micros, m[5] === '-' ? -off : off);
}

/** Parses `P<months>M<days>DT[-]<h>H[-]<m>M[-]<s>.<ffffff>S` (Interval.toISOString). */
export function parseInterval(s: string): Interval {
  const m = /^P(-?\d+)M(-?\d+)DT(-?)(\d+)H-?(\d+)M-?(\d+)\.(\d{6})S$/.exec(s);
  if (m === null) throw new CodecError(`cannot read interval ${JSON.stringify(s)} from a change object: expected the ISO 8601 form Hydrant writes (P1M2DT3H4M5.000006S)`);
  const us = ((BigInt(m[4] as string) * 60n + BigInt(m[5] as string)) * 60n + BigInt(m[6] as string)) * 1_000_000n + BigInt(m[7] as string);
  return new Interval(Number(m[1]), Number(m[2]), m[3] === '-' ? -us : us);
}
