/**
 * The merge of Parquet change objects done entirely in DuckDB: no change event and no table
 * row passes through JavaScript. It applies when every change replaces or removes a whole row
 * — true for every object without an `_unchanged` or `_old_key` column (the lake delivery writes
 * them only when a change left TOAST-unchanged columns out or an update changed the key) — and
 * when the key and column types have an exact SQL conversion (see {@link sqlMergeable});
 * otherwise the merge job falls back to the event path ({@link MergeEngine.merge}), which
 * implements the same semantics.
 *
 * One merge: the new changes (above the last merged truncate; a truly late object — see
 * `shard-marks.ts` — means every object instead, a rebuild) → the last truncate, if any,
 * drops every file and everything before it → the latest change per key (by position) with
 * its bucket (`bucketSql`, identical to `bucketOf`) → each touched bucket rewritten by
 * {@link rewriteBuckets} → the version committed by {@link commitVersion}.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Metrics } from '../../core/metrics.ts';
import { tableId, type ColumnSchema, type TableSchema } from '../../core/schema.ts';
import type { StateStore, StateValue } from '../../state/state-store.ts';
import type { ObjectStore } from '../object-store.ts';
import type { CatalogObject } from '../catalog/catalog.ts';
import { canBeSpecial, duckType, SPECIAL_SUFFIX } from '../../delivery/formats/parquet-types.ts';
import { rewriteBuckets } from './bucket-rewrite.ts';
import { cleanupTable } from './cleanup.ts';
import { commitVersion } from './commit-version.ts';
import { localCopy } from './local-files.ts';
import { emptyManifest, loadManifest, type TableRef } from './manifest.ts';
import { recordMerge } from './merge-metrics.ts';
import type { MergeResult } from './merge-engine.ts';
import { ident, literal, sqlTypeOf, tempTableName } from './parquet-rows.ts';
import { bucketSql, keySql, sqlKeyable } from './row-key.ts';
import { advanceMarks, dropAtOrBelow, lateReason, NO_MARKS, shardOf, type ObjectRange, type TableMarks } from './shard-marks.ts';

const EXACT = new Set(['boolean', 'int16', 'int32', 'int64', 'float32', 'float64', 'string', 'enum', 'uuid', 'json', 'decimal', 'date', 'timestamp', 'timestamptz', 'time', 'bytes']);

/** Whether a table's changes can be merged in SQL (key and column types with exact conversions). */
export function sqlMergeable(schema: TableSchema): boolean {
  const byName = new Map(schema.columns.map((c) => [c.name, c]));
  return schema.primaryKey.length > 0 && schema.primaryKey.every((k) => sqlKeyable(byName.get(k)?.type.kind ?? '')) && schema.columns.every((c) => EXACT.has(c.type.kind));
}

/** Change-object column → current-state column (the inverse of the delivery's Parquet mapping). */
function convert(c: ColumnSchema): string {
  const col = ident(c.name);
  const special = ident(c.name + SPECIAL_SUFFIX);
  if (c.type.kind === 'decimal' && canBeSpecial(c.type)) return `COALESCE(${special}, CAST(${col} AS VARCHAR))`;
  if (canBeSpecial(c.type)) return `COALESCE(CAST(${special} AS ${sqlTypeOf(c)}), CAST(${col} AS ${sqlTypeOf(c)}))`;
  return `CAST(${col} AS ${sqlTypeOf(c)})`;
}

/** Dependencies of {@link mergeChangeObjectsSql}. */
export interface SqlMergeDeps {
  readonly state: StateStore;
  readonly lake: ObjectStore;
  readonly conn: DuckDBConnection;
  readonly tmpDir: string;
  readonly buckets: number;
  readonly metrics: Metrics | undefined;
  readonly now: () => number;
  readonly graceMs: number;
}

/** One SQL merge: the table's pending objects, and all its objects in case a late one forces a rebuild. */
export interface SqlMergeInput {
  readonly table: TableRef;
  readonly schema: TableSchema;
  readonly pending: readonly CatalogObject[];
  readonly all: readonly CatalogObject[];
  readonly checkpoint: StateValue;
  /** The marks merged so far (`startingMarks`), advanced by this merge. */
  readonly marks: TableMarks;
}

/**
 * Merges Parquet change objects in SQL. Resolves to undefined when the objects need the event
 * path (a non-Parquet object, or an `_unchanged` or `_old_key` column); otherwise to the result
 * and, when a truly late object forced a rebuild from every object, why.
 */
export async function mergeChangeObjectsSql(d: SqlMergeDeps, input: SqlMergeInput): Promise<{ readonly result: MergeResult; readonly rebuilt: string | undefined } | undefined> {
  const { table, schema } = input;
  if (!sqlMergeable(schema) || input.all.some((o) => o.format !== 'parquet')) return undefined;
  const head = (await loadManifest(d.state, table)) ?? emptyManifest(table, d.buckets);
  const locals = new Map<string, { path: string; release(): Promise<void> }>();
  const tables: string[] = [];
  try {
    const files = async (objs: readonly CatalogObject[]): Promise<string> => {
      for (const o of objs) if (!locals.has(o.key)) locals.set(o.key, await localCopy(d.lake, o.key, d.tmpDir));
      return `[${objs.map((o) => literal((locals.get(o.key) as { path: string }).path)).join(', ')}]`;
    };
    // Changes that left columns out (`_unchanged`) keep old values, and key-changing updates
    // (`_old_key`) move rows: only the event path does those.
    const partial = async (list: string): Promise<boolean> => (await d.conn.runAndReadAll(`SELECT DISTINCT name FROM parquet_schema(${list})`)).getRows().some((r) => r[0] === '_unchanged' || r[0] === '_old_key');
    const pendingFiles = await files(input.pending);
    if (await partial(pendingFiles)) return undefined;
    // Per-object position ranges decide whether anything is truly late (`shard-marks.ts`); the
    // file name column gets a name of its own, since a table may well have a `filename` column.
    const ranges = async (objs: readonly CatalogObject[]): Promise<ObjectRange[]> => {
      const byPath = new Map(objs.map((o) => [(locals.get(o.key) as { path: string }).path, o]));
      const rows = (await d.conn.runAndReadAll(`SELECT _hydrant_file, min(_position), max(_position), max(_position) FILTER (WHERE _op = 'truncate') FROM read_parquet(${await files(objs)}, filename = '_hydrant_file', union_by_name = true) GROUP BY _hydrant_file`)).getRows();
      return rows.map((r) => ({ shard: shardOf(byPath.get(String(r[0])) as CatalogObject), low: r[1] as string | null, high: r[2] as string | null, truncate: r[3] as string | null }));
    };
    const pendingRanges = await ranges(input.pending);
    const stored = await loadManifest(d.state, table);
    const why = lateReason(stored, pendingRanges);
    const rebuilt = why !== undefined;
    const floor = rebuilt ? null : dropAtOrBelow(stored);
    const source = rebuilt ? await files(input.all) : pendingFiles;
    if (rebuilt && (await partial(source))) return undefined;
    const marks = rebuilt ? advanceMarks(NO_MARKS, await ranges(input.all), null) : advanceMarks(input.marks, pendingRanges, null);
    // Every column the changes may lack (older schema versions, specials never needed), typed as the delivery writes them.
    const typed = [
      `CAST(NULL AS VARCHAR) AS _op`, `CAST(NULL AS VARCHAR) AS _position`, `CAST(NULL AS TIMESTAMPTZ) AS _commit_time`,
      ...schema.columns.flatMap((c) => [`CAST(NULL AS ${duckType(c.type)}) AS ${ident(c.name)}`, ...(canBeSpecial(c.type) ? [`CAST(NULL AS VARCHAR) AS ${ident(c.name + SPECIAL_SUFFIX)}`] : [])]),
    ].join(', ');
    const src = tempTableName();
    tables.push(src);
    await d.conn.run(`CREATE TEMP TABLE ${src} AS SELECT ${schema.columns.map((c) => `${convert(c)} AS ${ident(c.name)}`).join(', ')}, _op, _position, _commit_time
      FROM (SELECT * FROM read_parquet(${source}, union_by_name = true) UNION ALL BY NAME SELECT ${typed} WHERE false)
      ${floor !== null ? `WHERE _position > ${literal(floor)}` : ''}`);
    const stats = (await d.conn.runAndReadAll(`SELECT count(*), max(_position), epoch_ms(arg_max(_commit_time, _position)), epoch_ms(min(_commit_time)), max(_position) FILTER (WHERE _op = 'truncate'), count(*) FILTER (WHERE _op = 'truncate') FROM temp.${src}`)).getRows()[0] as [bigint, string | null, bigint | null, bigint | null, string | null, bigint];
    const applied = Number(stats[0]);
    const objectsRows = (rebuilt ? input.all : input.pending).reduce((n, o) => n + o.rows, 0);
    if (applied === 0 && !rebuilt && JSON.stringify(input.checkpoint) === JSON.stringify(head.checkpoint)) {
      return { rebuilt: why, result: { version: head.version, committed: false, stats: { applied: 0, skipped: objectsRows, truncates: 0, missingPrevious: 0 }, rows: head.rows, bucketsRewritten: 0, filesWritten: 0, filesKept: head.files.length, groups: { sql: 0, js: 0 }, lagSeconds: null, path: 'sql' } };
    }
    const truncatedAt = stats[4];
    const pk = schema.primaryKey.map(ident).join(', ');
    const byName = new Map(schema.columns.map((c) => [c.name, c]));
    const bucket = bucketSql(keySql(schema.primaryKey.map((k) => ({ expr: ident(k), kind: (byName.get(k) as ColumnSchema).type.kind }))), head.buckets);
    const delta = tempTableName();
    tables.push(delta);
    await d.conn.run(`CREATE TEMP TABLE ${delta} AS SELECT ${schema.columns.map((c) => ident(c.name)).join(', ')}, _op = 'delete' AS _hydrant_delete, ${bucket} AS _hydrant_bucket
      FROM temp.${src} WHERE _op <> 'truncate' ${truncatedAt === null ? '' : `AND _position > ${literal(truncatedAt)}`}
      QUALIFY row_number() OVER (PARTITION BY ${pk} ORDER BY _position DESC) = 1`);
    const touched = (await d.conn.runAndReadAll(`SELECT DISTINCT _hydrant_bucket FROM temp.${delta} ORDER BY 1`)).getRows().map((r) => Number(r[0]));
    const dropAll = truncatedAt !== null || rebuilt;
    const rewritten = new Set<number>([...touched, ...(dropAll ? head.files.map((f) => f.bucket) : [])]);
    const version = head.version + 1;
    const written = await rewriteBuckets({
      conn: d.conn, lake: d.lake, tmpDir: d.tmpDir, table, schema, delta: `temp.${delta}`, buckets: touched,
      old: dropAll ? new Map() : new Map(head.files.map((f) => [f.bucket, f])), version, attempt: randomBytes(4).toString('hex'),
    });
    const now = d.now();
    const { manifest, kept } = await commitVersion(d.state, {
      head, rewritten, written, schemaVersion: Math.max(schema.version, head.schemaVersion), highWater: stats[1], sourceCommitTime: stats[2] === null ? null : new Date(Number(stats[2])).toISOString(), checkpoint: input.checkpoint, now, marks,
    });
    const lagSeconds = recordMerge(d.metrics, tableId(table), stats[3] === null ? Infinity : Number(stats[3]), applied, manifest, now);
    await cleanupTable({ state: d.state, lake: d.lake, table, graceMs: d.graceMs, now });
    return {
      rebuilt: why,
      result: {
        version: manifest.version, committed: true, stats: { applied, skipped: objectsRows - applied, truncates: Number(stats[5]), missingPrevious: 0 }, rows: manifest.rows,
        bucketsRewritten: rewritten.size, filesWritten: written.length, filesKept: kept, groups: { sql: 1, js: 0 }, lagSeconds, path: 'sql',
      },
    };
  } finally {
    for (const t of tables) await d.conn.run(`DROP TABLE IF EXISTS temp.${t}`);
    for (const l of locals.values()) await l.release();
  }
}
