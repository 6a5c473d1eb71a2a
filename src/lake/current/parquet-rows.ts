/**
 * Current-state rows to and from Parquet, through DuckDB. Columns get the DuckDB type of their
 * logical type where that type holds every value exactly; the rest are stored as text:
 *
 * | logical                      | Parquet (DuckDB)     | note                                      |
 * |------------------------------|----------------------|-------------------------------------------|
 * | boolean                      | BOOLEAN              |                                           |
 * | int16 / int32 / int64        | SMALLINT/INTEGER/BIGINT |                                        |
 * | float32 / float64            | DOUBLE               | float32 widened, so no value is rounded   |
 * | string / uuid / enum         | VARCHAR              |                                           |
 * | json                         | VARCHAR              | the document's exact text                 |
 * | decimal                      | VARCHAR              | exact digits; NaN/±Infinity allowed; CAST to DECIMAL in SQL |
 * | date                         | DATE                 | ±infinity kept                            |
 * | timestamp / timestamptz      | TIMESTAMP / TIMESTAMPTZ (µs) | ±infinity kept                    |
 * | time                         | TIME (µs)            |                                           |
 * | bytes                        | BLOB                 |                                           |
 * | timetz, interval, list, unknown | VARCHAR           | the value codec's JSON (`values.ts`)      |
 *
 * Decimal as text is a deliberate trade: DuckDB's DECIMAL stops at 38 digits and has no NaN,
 * and Parquet INTERVAL drops microseconds; the merge must never change a value.
 */
import { DuckDBDateValue, DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBTimeValue, DuckDBBlobValue, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { ColumnSchema, TableSchema } from '../../core/schema.ts';
import { DateValue, Decimal, decodeValue, encodeValue, JsonText, Timestamp, TimeValue, type Row, type Value } from '../../core/values.ts';
import { MergeError } from './errors.ts';

/** How a column is stored; `codec` means value-codec JSON in a VARCHAR. */
type Storage = 'BOOLEAN' | 'SMALLINT' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'JSON_TEXT' | 'DECIMAL_TEXT' | 'DATE' | 'TIMESTAMP' | 'TIMESTAMPTZ' | 'TIME' | 'BLOB' | 'codec';

function storageOf(c: ColumnSchema): Storage {
  switch (c.type.kind) {
    case 'boolean': return 'BOOLEAN';
    case 'int16': return 'SMALLINT';
    case 'int32': return 'INTEGER';
    case 'int64': return 'BIGINT';
    case 'float32': case 'float64': return 'DOUBLE';
    case 'string': case 'uuid': case 'enum': return 'VARCHAR';
    case 'json': return 'JSON_TEXT';
    case 'decimal': return 'DECIMAL_TEXT';
    case 'date': return 'DATE';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'time': return 'TIME';
    case 'bytes': return 'BLOB';
    default: return 'codec';
  }
}

/** The SQL type a column has in current-state Parquet files. */
export function sqlTypeOf(c: ColumnSchema): string {
  const s = storageOf(c);
  return s === 'JSON_TEXT' || s === 'DECIMAL_TEXT' || s === 'codec' ? 'VARCHAR' : s;
}

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal. */
export function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

let tempSeq = 0;

/** A fresh name for a temporary table. */
export function tempTableName(): string {
  return `hydrant_rows_${process.pid}_${++tempSeq}`;
}

/**
 * Creates temporary table `name` with the schema's columns (typed as in current-state files)
 * plus `extra` columns, and appends `rows`; `extraValues` gives each row's extra values
 * (only BOOLEAN and INTEGER extras are supported). Returns the row count.
 */
export async function createRowsTable<T>(conn: DuckDBConnection, schema: TableSchema, name: string, items: Iterable<T>, rowOf: (item: T) => Row, extra: ReadonlyArray<{ readonly name: string; readonly type: 'BOOLEAN' | 'INTEGER'; value(item: T): boolean | number }> = []): Promise<number> {
  await conn.run(`CREATE TEMP TABLE ${name} (${[...schema.columns.map((c) => `${ident(c.name)} ${sqlTypeOf(c)}`), ...extra.map((e) => `${ident(e.name)} ${e.type}`)].join(', ')})`);
  const app = await conn.createAppender(name, 'main', 'temp');
  const storages = schema.columns.map(storageOf);
  let n = 0;
  for (const item of items) {
    const row = rowOf(item);
    for (let i = 0; i < storages.length; i++) {
      const col = schema.columns[i] as ColumnSchema;
      append(app, storages[i] as Storage, row[col.name] ?? null, col, schema);
    }
    for (const e of extra) {
      const v = e.value(item);
      if (e.type === 'BOOLEAN') app.appendBoolean(v as boolean);
      else app.appendInteger(v as number);
    }
    app.endRow();
    n++;
  }
  app.closeSync();
  return n;
}

/** Writes rows as one zstd Parquet file at `path` (a local file), columns as the schema says. */
export async function writeRowsParquet(conn: DuckDBConnection, schema: TableSchema, rows: Iterable<Row>, path: string): Promise<number> {
  const t = tempTableName();
  try {
    const n = await createRowsTable(conn, schema, t, rows, (r) => r);
    await conn.run(`COPY ${t} TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`);
    return n;
  } finally {
    await conn.run(`DROP TABLE IF EXISTS temp.${t}`);
  }
}

function append(app: DuckDBAppender, s: Storage, v: Value, col: ColumnSchema, schema: TableSchema): void {
  if (v === null) return app.appendNull();
  // No closure per value: this runs for every cell of every rewritten row.
  switch (s) {
    case 'BOOLEAN': if (typeof v === 'boolean') return app.appendBoolean(v); break;
    case 'SMALLINT': if (typeof v === 'number' || typeof v === 'bigint') return app.appendSmallInt(Number(v)); break;
    case 'INTEGER': if (typeof v === 'number' || typeof v === 'bigint') return app.appendInteger(Number(v)); break;
    case 'BIGINT':
      if (typeof v === 'bigint') return app.appendBigInt(v);
      if (typeof v === 'number' && Number.isSafeInteger(v)) return app.appendBigInt(BigInt(v));
      break;
    case 'DOUBLE': if (typeof v === 'number') return app.appendDouble(v); break;
    case 'VARCHAR': if (typeof v === 'string') return app.appendVarchar(v); break;
    case 'JSON_TEXT': return app.appendVarchar(v instanceof JsonText ? v.text : typeof v === 'string' ? v : JSON.stringify(encodeValue(v)));
    case 'DECIMAL_TEXT':
      if (v instanceof Decimal) return app.appendVarchar(v.text);
      if (typeof v === 'number' || typeof v === 'bigint') return app.appendVarchar(String(v));
      break;
    case 'DATE':
      if (v instanceof DateValue) return app.appendDate(v.days === 'infinity' ? DuckDBDateValue.PosInf : v.days === '-infinity' ? DuckDBDateValue.NegInf : new DuckDBDateValue(v.days));
      break;
    case 'TIMESTAMP':
      if (v instanceof Timestamp) return app.appendTimestamp(v.micros === 'infinity' ? DuckDBTimestampValue.PosInf : v.micros === '-infinity' ? DuckDBTimestampValue.NegInf : new DuckDBTimestampValue(v.micros));
      break;
    case 'TIMESTAMPTZ':
      if (v instanceof Timestamp) return app.appendTimestampTZ(v.micros === 'infinity' ? DuckDBTimestampTZValue.PosInf : v.micros === '-infinity' ? DuckDBTimestampTZValue.NegInf : new DuckDBTimestampTZValue(v.micros));
      break;
    case 'TIME': if (v instanceof TimeValue && v.offsetSeconds === undefined) return app.appendTime(new DuckDBTimeValue(v.micros)); break;
    case 'BLOB': if (v instanceof Uint8Array) return app.appendBlob(v); break;
    case 'codec': return app.appendVarchar(JSON.stringify(encodeValue(v)));
  }
  throw new MergeError(`column ${col.name} of ${schema.source}.${schema.schema}.${schema.table} (schema version ${schema.version}) is ${col.type.kind} but a row holds ${describe(v)}; the source's type mapping and the schema disagree, so the row cannot be written without changing it.`, { column: col.name });
}

function describe(v: Value): string {
  if (typeof v === 'object' && v !== null) return `a ${v.constructor?.name ?? 'object'}`;
  return `a ${typeof v}`;
}

/**
 * Reads rows back from Parquet files written by {@link writeRowsParquet} (any schema version:
 * columns missing from a file are null, columns not in `schema` are dropped).
 */
export async function readRowsParquet(conn: DuckDBConnection, schema: TableSchema, path: string): Promise<Row[]> {
  const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet(${literal(path)})`);
  const names = reader.columnNames();
  const cols = reader.getColumns();
  const n = reader.currentRowCount;
  const rows: Row[] = Array.from({ length: n }, () => ({}));
  for (const c of schema.columns) {
    const i = names.indexOf(c.name);
    const s = storageOf(c);
    const data = i < 0 ? undefined : (cols[i] as DuckDBValue[]);
    for (let r = 0; r < n; r++) (rows[r] as Row)[c.name] = data === undefined ? null : fromDuck(s, data[r] ?? null);
  }
  return rows;
}

function fromDuck(s: Storage, v: DuckDBValue): Value {
  if (v === null) return null;
  switch (s) {
    case 'SMALLINT': case 'INTEGER': case 'BOOLEAN': case 'DOUBLE': case 'VARCHAR': case 'BIGINT':
      return v as Value;
    case 'JSON_TEXT': return new JsonText(v as string);
    case 'DECIMAL_TEXT': return new Decimal(v as string);
    case 'DATE': {
      const d = (v as DuckDBDateValue).days;
      return new DateValue(d === DuckDBDateValue.PosInf.days ? 'infinity' : d === DuckDBDateValue.NegInf.days ? '-infinity' : d);
    }
    case 'TIMESTAMP': case 'TIMESTAMPTZ': {
      const m = (v as DuckDBTimestampValue).micros;
      return new Timestamp(m === DuckDBTimestampValue.PosInf.micros ? 'infinity' : m === DuckDBTimestampValue.NegInf.micros ? '-infinity' : m, s === 'TIMESTAMPTZ');
    }
    case 'TIME': return new TimeValue((v as DuckDBTimeValue).micros);
    case 'BLOB': return (v as DuckDBBlobValue).bytes;
    case 'codec': return decodeValue(JSON.parse(v as string));
  }
}
