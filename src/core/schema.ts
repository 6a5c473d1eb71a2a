/**
 * Table schemas: the logical column types every source maps to and every delivery maps from.
 * Schemas are versioned per table and recorded in the state store under
 * {@link schemaKey}; a {@link ChangeEvent} names the version it was written with.
 */
import type { StateStore } from '../state/state-store.ts';

/** Logical column types. `sourceType` on a column keeps the source's own name for docs/debugging. */
export type ColumnType =
  | {
      readonly kind:
        | 'boolean'
        | 'int16'
        | 'int32'
        | 'int64'
        | 'float32'
        | 'float64'
        | 'string'
        | 'uuid'
        | 'json'
        | 'date'
        | 'time'
        | 'timetz'
        | 'timestamp'
        | 'timestamptz'
        | 'interval'
        | 'bytes'
        | 'unknown';
    }
  | { readonly kind: 'decimal'; readonly precision?: number; readonly scale?: number }
  | { readonly kind: 'enum'; readonly values?: readonly string[] }
  | { readonly kind: 'list'; readonly element: ColumnType; readonly dimensions?: number };

/** One column of a table. */
export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  /** The source's own type name, e.g. `numeric(12,2)` or `_int4`. */
  readonly sourceType?: string;
}

/** A table's schema at one version. */
export interface TableSchema {
  /** Pipeline name of the source that captured the table. */
  readonly source: string;
  readonly database: string;
  readonly schema: string;
  readonly table: string;
  /** 1, 2, ... bumped on every change of columns or types. */
  readonly version: number;
  readonly columns: readonly ColumnSchema[];
  /** Primary-key column names in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
}

/** Identifies a table across sources: `source.schema.table`. */
export function tableId(t: { source: string; schema: string; table: string }): string {
  return `${t.source}.${t.schema}.${t.table}`;
}

/** State-store key of one schema version. */
export function schemaKey(t: { source: string; schema: string; table: string }, version: number): string {
  return `schemas/${tableId(t)}/${String(version).padStart(8, '0')}`;
}

/** true when two column lists describe the same columns and types (ignoring order of nothing). */
export function sameColumns(a: TableSchema, b: Pick<TableSchema, 'columns' | 'primaryKey'>): boolean {
  return JSON.stringify([a.columns, a.primaryKey]) === JSON.stringify([b.columns, b.primaryKey]);
}

/** Reads one schema version from the state store. */
export async function loadSchema(store: StateStore, t: { source: string; schema: string; table: string }, version: number): Promise<TableSchema | undefined> {
  return (await store.get(schemaKey(t, version))) as TableSchema | undefined;
}

/** Reads the newest schema version of a table from the state store. */
export async function latestSchema(store: StateStore, t: { source: string; schema: string; table: string }): Promise<TableSchema | undefined> {
  const all = await store.list(`schemas/${tableId(t)}/`);
  const last = all[all.length - 1];
  return last === undefined ? undefined : (last.value as unknown as TableSchema);
}
