/**
 * Turns envelopes into output rows with typed columns. Change rows are the row image (after,
 * or before for deletes) plus metadata columns; event rows carry the event's data as one JSON
 * column. Column types come from the table's schema in the state store; a table without a
 * recorded schema gets types inferred from its values (documented in docs/lake.md).
 */
import type { ChangeEvent, Envelope } from '../../core/change-event.ts';
import type { ColumnType, TableSchema } from '../../core/schema.ts';
import { loadSchema, tableId } from '../../core/schema.ts';
import { DateValue, Decimal, Interval, JsonText, Timestamp, TimeValue, valuesEqual, valueToJson, type Row, type Value } from '../../core/values.ts';
import type { StateStore } from '../../state/state-store.ts';
import type { OutputColumn } from '../formats/format.ts';

/** Metadata columns in front of every change row. */
export const CHANGE_META: readonly OutputColumn[] = [
  { name: '_op', type: { kind: 'string' } },
  { name: '_commit_time', type: { kind: 'timestamptz' } },
  { name: '_position', type: { kind: 'string' } },
  { name: '_shard', type: { kind: 'string' } },
  { name: '_sequence', type: { kind: 'string' } },
];

/**
 * Names of the columns a change left out (PostgreSQL's TOAST-unchanged values), as a JSON array
 * text. Written last, and only in objects holding such a change, so objects (and headerless
 * CSV) without it look exactly as before; the current-state merge keeps the old values of the
 * named columns instead of setting them to NULL.
 */
export const UNCHANGED_COLUMN: OutputColumn = { name: '_unchanged', type: { kind: 'string' } };

/** Value of {@link UNCHANGED_COLUMN} for a change: null when every column is in its row image. */
export function unchangedOf(e: ChangeEvent): string | null {
  return e.unchanged !== undefined && e.unchanged.length > 0 ? JSON.stringify(e.unchanged) : null;
}

/**
 * The old key of an `update` that changed the primary key, as the lossless JSON of the key's
 * columns (`{"id":{"$i":"7"}}`). Written after {@link UNCHANGED_COLUMN}, only in objects holding
 * such an update, so the merge can remove the row under its old key. (PostgreSQL sends key
 * changes as delete + insert and never needs it; sources that send one update do.)
 */
export const OLD_KEY_COLUMN: OutputColumn = { name: '_old_key', type: { kind: 'string' } };

/** Value of {@link OLD_KEY_COLUMN} for a change: null unless it is an update whose `before` has another key. */
export function oldKeyOf(e: ChangeEvent): string | null {
  if (e.op !== 'update' || e.before === null) return null;
  const before = e.before;
  const cols = Object.keys(e.key);
  if (cols.length === 0 || !cols.every((c) => c in before) || cols.every((c) => valuesEqual(before[c] ?? null, e.key[c] ?? null))) return null;
  const old: Row = {};
  for (const c of cols) old[c] = before[c] ?? null;
  return valueToJson(old);
}

/** Columns of an event row. */
export const EVENT_COLUMNS: readonly OutputColumn[] = [
  { name: '_event_time', type: { kind: 'timestamptz' } },
  { name: '_arrival_time', type: { kind: 'timestamptz' } },
  { name: '_key', type: { kind: 'string' } },
  { name: '_source', type: { kind: 'string' } },
  { name: '_shard', type: { kind: 'string' } },
  { name: '_sequence', type: { kind: 'string' } },
  { name: 'data', type: { kind: 'json' } },
];

/** DMS op letters: inserts and full-load rows are I, updates U, deletes D (truncates T). */
export function dmsOp(op: ChangeEvent['op']): string {
  return op === 'update' ? 'U' : op === 'delete' ? 'D' : op === 'truncate' ? 'T' : 'I';
}

/** Catalog table name of an envelope. */
export function tableNameOf(e: Envelope): string {
  return e.op === 'event' ? `events.${e.source.name}` : tableId({ source: e.source.name, schema: e.source.schema, table: e.source.table });
}

/** The row image a change carries: after, or before (the key when absent) for deletes. */
export function imageOf(e: ChangeEvent): Row {
  return e.op === 'delete' ? (e.before ?? e.key) : (e.after ?? EMPTY);
}
const EMPTY: Row = Object.freeze({}) as Row;

/** Looks up (and caches) table schemas by version. */
export class SchemaResolver {
  readonly #store: StateStore;
  readonly #cache = new Map<string, TableSchema | null>();

  constructor(store: StateStore) {
    this.#store = store;
  }

  async resolve(e: ChangeEvent): Promise<TableSchema | null> {
    const t = { source: e.source.name, schema: e.source.schema, table: e.source.table };
    const k = `${tableId(t)}#${e.schemaVersion}`;
    let s = this.#cache.get(k);
    if (s === undefined) {
      s = (await loadSchema(this.#store, t, e.schemaVersion)) ?? null;
      this.#cache.set(k, s);
    }
    return s;
  }
}

/** Optional change columns an object needs, by what its changes hold. */
export interface OptionalChangeColumns {
  /** Some change left columns out (TOAST-unchanged): {@link UNCHANGED_COLUMN}. */
  readonly unchanged?: boolean;
  /** Some update changed the key: {@link OLD_KEY_COLUMN}. */
  readonly oldKey?: boolean;
}

/** The optional columns, in their order at the end of a change row. */
export function optionalChangeColumns(o: OptionalChangeColumns): OutputColumn[] {
  return [...(o.unchanged === true ? [UNCHANGED_COLUMN] : []), ...(o.oldKey === true ? [OLD_KEY_COLUMN] : [])];
}

/** Names of the optional change columns (never data columns, never in the catalog's version columns). */
export const OPTIONAL_CHANGE_COLUMNS: ReadonlySet<string> = new Set([UNCHANGED_COLUMN.name, OLD_KEY_COLUMN.name]);

/**
 * Output columns of a change object: metadata, then the schema's columns (or ones inferred from
 * the row images), then the optional columns the object's changes need ({@link optionalChangeColumns}).
 */
export function changeColumns(schema: TableSchema | null, rows: Iterable<Row>, optional: OptionalChangeColumns = {}): OutputColumn[] {
  const tail = optionalChangeColumns(optional);
  const meta = new Set([...CHANGE_META.map((c) => c.name), ...OPTIONAL_CHANGE_COLUMNS]);
  if (schema !== null) return [...CHANGE_META, ...schema.columns.filter((c) => !meta.has(c.name)).map((c) => ({ name: c.name, type: c.type })), ...tail];
  const inferred = new Map<string, ColumnType>();
  for (const r of rows) {
    for (const k in r) {
      if (meta.has(k) || inferred.has(k)) continue;
      const v = r[k] ?? null;
      if (v !== null) inferred.set(k, inferType(v));
    }
  }
  for (const r of rows) for (const k in r) if (!meta.has(k) && !inferred.has(k)) inferred.set(k, { kind: 'string' }); // only NULLs seen
  return [...CHANGE_META, ...[...inferred].map(([name, type]) => ({ name, type })), ...tail];
}

/** The column type of a value, for tables without a recorded schema. */
export function inferType(v: Exclude<Value, null>): ColumnType {
  switch (typeof v) {
    case 'boolean': return { kind: 'boolean' };
    case 'number': return { kind: 'float64' };
    case 'bigint': return { kind: 'int64' };
    case 'string': return { kind: 'string' };
  }
  if (v instanceof Decimal) return { kind: 'decimal' };
  if (v instanceof Timestamp) return { kind: v.withTimeZone ? 'timestamptz' : 'timestamp' };
  if (v instanceof DateValue) return { kind: 'date' };
  if (v instanceof TimeValue) return { kind: v.offsetSeconds === undefined ? 'time' : 'timetz' };
  if (v instanceof Interval) return { kind: 'interval' };
  if (v instanceof Uint8Array) return { kind: 'bytes' };
  if (v instanceof JsonText) return { kind: 'json' };
  return { kind: 'json' };
}
