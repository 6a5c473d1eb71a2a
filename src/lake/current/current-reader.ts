/**
 * Reading current-state tables: the rows of the readable version (for tests, `hydrant merge
 * --verify` and tools), and the SQL that exposes a version to DuckDB as a view under the plain
 * table name (for `hydrant query`).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TableSchema } from '../../core/schema.ts';
import type { Row } from '../../core/values.ts';
import type { StateStore } from '../../state/state-store.ts';
import type { ObjectStore } from '../object-store.ts';
import { localCopy } from './local-files.ts';
import { loadManifest, type Manifest, type TableRef } from './manifest.ts';
import { ident, literal, readRowsParquet, sqlTypeOf } from './parquet-rows.ts';

/** Every row of the table's readable version (empty before the first merge). */
export async function readCurrentRows(opts: { readonly state: StateStore; readonly lake: ObjectStore; readonly conn: DuckDBConnection; readonly tmpDir: string; readonly table: TableRef; readonly schema: TableSchema }): Promise<Row[]> {
  const m = await loadManifest(opts.state, opts.table);
  if (m === undefined) return [];
  const out: Row[] = [];
  for (const f of m.files) {
    const local = await localCopy(opts.lake, f.key, opts.tmpDir);
    try {
      for (const r of await readRowsParquet(opts.conn, opts.schema, local.path)) out.push(r);
    } finally {
      await local.release();
    }
  }
  return out;
}

/**
 * A `SELECT` over one version's files that any DuckDB can run: `paths` maps object keys to
 * what DuckDB opens (a local path, or an `s3://` URL with DuckDB's httpfs configured). Files
 * written before a column was added lack it, and `schema` may be newer than every file (a
 * column added at the source, not merged yet): the files are unioned by name with an empty
 * relation of the schema's columns, so missing columns read as NULL with their type. An empty
 * version selects no rows but keeps the columns and their types.
 */
export function currentTableSelect(m: Manifest, schema: TableSchema, paths: (key: string) => string): string {
  const empty = `SELECT ${schema.columns.map((c) => `CAST(NULL AS ${sqlTypeOf(c)}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
  if (m.files.length === 0) return empty;
  const cols = schema.columns.map((c) => `CAST(${ident(c.name)} AS ${sqlTypeOf(c)}) AS ${ident(c.name)}`).join(', ');
  return `SELECT ${cols} FROM (SELECT * FROM read_parquet([${m.files.map((f) => literal(paths(f.key))).join(', ')}], union_by_name = true) UNION ALL BY NAME ${empty})`;
}
