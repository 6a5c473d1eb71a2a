/** Row comparison helpers for current-state tests: canonical text of rows via the codec. */
import type { TableSchema } from '../../../src/core/schema.ts';
import { encodeValue, type Row } from '../../../src/core/values.ts';

/** A row as canonical text: every schema column in order, absent columns as null. */
export function canonRow(row: Row, schema: TableSchema): string {
  return JSON.stringify(encodeValue(schema.columns.map((c) => row[c.name] ?? null)));
}

/** Sorted canonical texts of a set of rows, for order-insensitive comparison. */
export function canonRows(rows: Iterable<Row>, schema: TableSchema): string[] {
  return [...rows].map((r) => canonRow(r, schema)).sort();
}
