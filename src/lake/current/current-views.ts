/**
 * The hook `hydrant query` uses to expose current-state tables: one DuckDB view per table,
 * named like the catalog names tables (`source.schema.table`, the history being
 * `source.schema.table_changes`), plus the bare table name when no other source or schema has
 * a table of that name. Each view reads exactly the files of the table's readable version, so
 * a query never sees a half-merged table even while a merge runs.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { latestSchema, loadSchema, tableId } from '../../core/schema.ts';
import type { StateStore } from '../../state/state-store.ts';
import type { ObjectStore } from '../object-store.ts';
import { currentTableSelect } from './current-reader.ts';
import { localCopy } from './local-files.ts';
import { listCurrentTables } from './manifest.ts';
import { ident } from './parquet-rows.ts';

/** One view to create. */
export interface CurrentView {
  readonly name: string;
  readonly sql: string;
}

/**
 * The views of every current-state table. `tmpDir` receives downloaded copies when the lake is
 * not a local directory; call `release` when the query is done to delete them.
 */
export async function currentStateViews(state: StateStore, lake: ObjectStore, tmpDir: string): Promise<{ readonly views: readonly CurrentView[]; release(): Promise<void> }> {
  const releases: Array<() => Promise<void>> = [];
  const views: CurrentView[] = [];
  const manifests = await listCurrentTables(state);
  const plainCount = new Map<string, number>();
  for (const m of manifests) plainCount.set(m.table.table, (plainCount.get(m.table.table) ?? 0) + 1);
  for (const m of manifests) {
    const schema = (await loadSchema(state, m.table, m.schemaVersion)) ?? (await latestSchema(state, m.table));
    if (schema === undefined) continue;
    const paths = new Map<string, string>();
    for (const f of m.files) {
      const local = await localCopy(lake, f.key, tmpDir);
      releases.push(() => local.release());
      paths.set(f.key, local.path);
    }
    const sql = currentTableSelect(m, schema, (k) => paths.get(k) as string);
    views.push({ name: tableId(m.table), sql });
    if (plainCount.get(m.table.table) === 1) views.push({ name: m.table.table, sql });
  }
  return { views, release: async () => { for (const r of releases) await r(); } };
}

/** Creates the views on a DuckDB connection (see {@link currentStateViews}). */
export async function registerCurrentStateViews(conn: DuckDBConnection, state: StateStore, lake: ObjectStore, tmpDir: string): Promise<{ readonly names: readonly string[]; release(): Promise<void> }> {
  const { views, release } = await currentStateViews(state, lake, tmpDir);
  for (const v of views) await conn.run(`CREATE OR REPLACE TEMP VIEW ${ident(v.name)} AS ${v.sql}`);
  return { names: views.map((v) => v.name), release };
}
