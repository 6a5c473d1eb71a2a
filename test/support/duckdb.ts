/**
 * Reading what the lake wrote the way a user would: one SQL query in a throwaway in-memory
 * DuckDB, rows as JSON-safe objects (big integers and decimals as strings, so nothing rounds).
 */
import { DuckDBInstance } from '@duckdb/node-api';

/** Runs `sql` in a fresh in-memory DuckDB and returns its rows. */
export async function duckRows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as T[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
