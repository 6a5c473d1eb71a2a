/**
 * Rewrites bucket files from a DuckDB table of "latest change per key" (`delta`: the table's
 * columns plus `_hydrant_bucket` and `_hydrant_delete`): each new bucket file is the old file
 * without the keys in `delta` (an anti-join), plus the rows of `delta` that are not deletes.
 * Used by both merge paths whose changes replace whole rows.
 */
import { rm } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TableSchema } from '../../core/schema.ts';
import type { ObjectStore } from '../object-store.ts';
import { localCopy, tempPath, uploadFile } from './local-files.ts';
import { dataFileKey, type ManifestFile, type TableRef } from './manifest.ts';
import { ident, literal, sqlTypeOf } from './parquet-rows.ts';

/** Where and what to rewrite. */
export interface BucketRewrite {
  readonly conn: DuckDBConnection;
  readonly lake: ObjectStore;
  readonly tmpDir: string;
  readonly table: TableRef;
  readonly schema: TableSchema;
  /** Temporary table holding the latest change per key. */
  readonly delta: string;
  readonly buckets: readonly number[];
  /** Current file of each bucket (empty after a truncate). */
  readonly old: ReadonlyMap<number, ManifestFile>;
  readonly version: number;
  readonly attempt: string;
}

/** Writes the new file of every bucket in `r.buckets`; buckets left empty get no file. */
export async function rewriteBuckets(r: BucketRewrite): Promise<ManifestFile[]> {
  const cols = r.schema.columns.map((c) => ident(c.name)).join(', ');
  // Old files may predate a column: union them by name with the schema's typed columns.
  const typed = `SELECT ${r.schema.columns.map((c) => `CAST(NULL AS ${sqlTypeOf(c)}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
  const match = r.schema.primaryKey.map((c) => `d.${ident(c)} = o.${ident(c)}`).join(' AND ');
  const out: ManifestFile[] = [];
  for (const b of r.buckets) {
    const file = r.old.get(b);
    const local = file === undefined ? undefined : await localCopy(r.lake, file.key, r.tmpDir);
    const path = tempPath(r.tmpDir);
    try {
      const upserts = `SELECT ${cols} FROM ${r.delta} WHERE _hydrant_bucket = ${b} AND NOT _hydrant_delete`;
      const kept = local === undefined ? undefined : `SELECT ${cols} FROM (SELECT * FROM read_parquet(${literal(local.path)}) UNION ALL BY NAME ${typed}) o WHERE NOT EXISTS (SELECT 1 FROM ${r.delta} d WHERE d._hydrant_bucket = ${b} AND ${match})`;
      const res = await r.conn.runAndReadAll(`COPY (${kept === undefined ? upserts : `${kept} UNION ALL ${upserts}`}) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`);
      const n = Number(res.getRows()[0]?.[0] ?? 0);
      if (n === 0) {
        await rm(path, { force: true });
        continue;
      }
      const key = dataFileKey(r.table, b, r.version, r.attempt);
      out.push({ bucket: b, key, rows: n, bytes: await uploadFile(r.lake, path, key), schemaVersion: r.schema.version });
    } finally {
      await local?.release();
    }
  }
  return out;
}
