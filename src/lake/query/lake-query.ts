/**
 * {@link LakeQuery}: SQL over the lake with DuckDB in process. Every catalog table becomes a
 * view, named after the catalog:
 *
 * - `<source>.<schema>.<table>_changes`: the change history of a database table (every
 *   committed change object, all schema versions: `union_by_name`, so columns missing in older
 *   objects read as NULL);
 * - `<source>.<schema>.<table>`: its current state, when `hydrant merge` has built one;
 * - `events.<source>`: events and log lines.
 *
 * Hive-style partition columns (`year=2024/...`) are exposed as columns (`hive_partitioning`),
 * and objects whose partition values cannot satisfy the WHERE clause are pruned from the views
 * by the catalog (partition-filter.ts). A local lake is read in place. DuckDB's S3 extension
 * cannot be downloaded here, so for an S3 lake only the (unpruned) objects of the tables the
 * SQL names are fetched into a local cache, reused while their size matches; what is fetched is
 * reported through `note`.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { HydrantError } from '../../core/errors.ts';
import { latestSchema } from '../../core/schema.ts';
import type { StateStore } from '../../state/state-store.ts';
import { decompress } from '../../delivery/compression.ts';
import { listObjects, type CatalogObject } from '../catalog/catalog.ts';
import { FsObjectStore } from '../fs/fs-object-store.ts';
import type { ObjectStore } from '../object-store.ts';
import { currentTableSelect } from '../current/current-reader.ts';
import { listCurrentTables } from '../current/manifest.ts';
import { mayMatch, partitionFilterOf } from './partition-filter.ts';

/** A query's result: column names and rows of JSON-safe values (64-bit integers as strings). */
export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/** The SQL was rejected or failed in DuckDB. */
export class QueryError extends HydrantError {
  constructor(message: string, cause?: unknown) {
    super('QUERY_FAILED', message, { cause });
  }
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A view to create: catalog name parts and the objects behind it. */
interface ViewPlan {
  readonly parts: readonly string[];
  readonly objects: readonly CatalogObject[];
}

export class LakeQuery {
  readonly #state: StateStore;
  readonly #lake: ObjectStore;
  readonly #cacheDir: string;
  readonly #note: (msg: string) => void;
  #db: DuckDBInstance | undefined;
  #lastPruned = 0;
  #conn: DuckDBConnection | undefined;

  constructor(o: { state: StateStore; lake: ObjectStore; cacheDir: string; note?: (msg: string) => void }) {
    this.#state = o.state;
    this.#lake = o.lake;
    this.#cacheDir = o.cacheDir;
    this.#note = o.note ?? (() => {});
  }

  /** Objects the last query skipped by their partition values (see partition-filter.ts). */
  get lastPruned(): number {
    return this.#lastPruned;
  }

  /** View names this lake offers (for messages and `hydrant tables`). */
  async tableNames(): Promise<string[]> {
    return [...new Set((await this.#plans()).map((p) => p.parts.join('.')))].sort();
  }

  async #plans(): Promise<ViewPlan[]> {
    const by = new Map<string, CatalogObject[]>();
    for (const o of await listObjects(this.#state)) {
      if (o.kind === 'errors') continue;
      const list = by.get(o.table) ?? [];
      list.push(o);
      by.set(o.table, list);
    }
    const plans: ViewPlan[] = [];
    for (const [table, objects] of by) {
      const parts = table.split('.');
      if (objects[0]?.kind === 'events') plans.push({ parts: ['events', parts.slice(1).join('.')], objects });
      else plans.push({ parts: [parts[0] as string, parts[1] as string, `${parts.slice(2).join('.')}_changes`], objects });
    }
    return plans;
  }

  /** Runs one SQL statement over the lake. */
  async run(sql: string): Promise<QueryResult> {
    const conn = await this.#connect();
    const lower = sql.toLowerCase();
    const remote = !(this.#lake instanceof FsObjectStore);
    let fetched = 0;
    let fetchedBytes = 0;
    const schemas = new Set<string>();
    const attach = async (parts: readonly string[]): Promise<string> => {
      if (parts.length === 3) {
        const [db, schema] = parts as [string, string];
        if (!schemas.has(db)) {
          await conn.run(`ATTACH IF NOT EXISTS ':memory:' AS ${ident(db)}`);
          schemas.add(db);
        }
        await conn.run(`CREATE SCHEMA IF NOT EXISTS ${ident(db)}.${ident(schema)}`);
      } else await conn.run(`CREATE SCHEMA IF NOT EXISTS ${ident(parts[0] as string)}`);
      return parts.map(ident).join('.');
    };
    const filter = await partitionFilterOf(conn, sql);
    let pruned = 0;
    for (const plan of await this.#plans()) {
      // Remote lakes: fetch only the objects of tables the SQL names.
      if (remote && !lower.includes((plan.parts.at(-1) as string).toLowerCase())) continue;
      const files: Array<{ path: string; o: CatalogObject }> = [];
      const isFiltered = filter !== undefined && filter.view === plan.parts.join('.').toLowerCase();
      const objects = isFiltered ? plan.objects.filter((o) => mayMatch(o, filter)) : [...plan.objects];
      pruned += plan.objects.length - objects.length;
      // A view needs at least one file; keep one when everything was pruned (it reads no rows).
      if (objects.length === 0 && plan.objects[0] !== undefined) objects.push(plan.objects[0]);
      for (const o of objects) {
        const r = await this.#localPath(o);
        if (r.fetched) {
          fetched++;
          fetchedBytes += o.bytes;
        }
        files.push({ path: r.path, o });
      }
      const name = await attach(plan.parts);
      await conn.run(`CREATE OR REPLACE VIEW ${name} AS ${selectOver(files)}`);
    }
    for (const m of await listCurrentTables(this.#state)) {
      const schema = await latestSchema(this.#state, m.table);
      if (schema === undefined) continue;
      if (remote && !lower.includes(m.table.table.toLowerCase())) continue;
      const paths = new Map<string, string>();
      for (const f of m.files) {
        const r = await this.#fetch(f.key, f.bytes);
        if (r.fetched) {
          fetched++;
          fetchedBytes += f.bytes;
        }
        paths.set(f.key, r.path);
      }
      const name = await attach([m.table.source, m.table.schema, m.table.table]);
      await conn.run(`CREATE OR REPLACE VIEW ${name} AS ${currentTableSelect(m, schema, (k) => paths.get(k) ?? k)}`);
    }
    if (remote) this.#note(`fetched ${fetched} object(s), ${(fetchedBytes / 1048576).toFixed(1)} MiB, from ${this.#lake.location} into ${this.#cacheDir} (objects of the tables the query names${pruned > 0 ? `, ${pruned} pruned by partition values` : ''}; cached objects are reused)`);
    this.#lastPruned = pruned;
    try {
      const reader = await conn.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Array<Record<string, unknown>> };
    } catch (err) {
      const tables = await this.tableNames();
      throw new QueryError(`query failed: ${(err as Error).message}\nTables in this lake: ${tables.length === 0 ? '(none yet: run the pipeline first)' : tables.join(', ')}`, err);
    }
  }

  async #connect(): Promise<DuckDBConnection> {
    if (this.#conn === undefined) {
      this.#db = await DuckDBInstance.create(':memory:');
      this.#conn = await this.#db.connect();
    }
    return this.#conn;
  }

  /** A path DuckDB can open: in place for a local lake; snappy objects are decompressed. */
  async #localPath(o: CatalogObject): Promise<{ path: string; fetched: boolean }> {
    if (o.compression === 'snappy' && o.format !== 'parquet') {
      const target = join(this.#cacheDir, 'decompressed', ...o.key.replace(/\.snappy$/, '').split('/'));
      if (await sizeIs(target + '.done', 0)) return { path: target, fetched: false };
      const raw = await this.#lake.get(o.key);
      await writeAtomic(target, await decompress('snappy', raw));
      await writeFile(target + '.done', '');
      return { path: target, fetched: !(this.#lake instanceof FsObjectStore) };
    }
    return this.#fetch(o.key, o.bytes);
  }

  async #fetch(key: string, bytes: number): Promise<{ path: string; fetched: boolean }> {
    if (this.#lake instanceof FsObjectStore) return { path: this.#lake.pathOf(key), fetched: false };
    const target = join(this.#cacheDir, 'objects', ...key.split('/'));
    if (await sizeIs(target, bytes)) return { path: target, fetched: false };
    await writeAtomic(target, await this.#lake.get(key));
    return { path: target, fetched: true };
  }

  async close(): Promise<void> {
    this.#conn?.closeSync();
    this.#db?.closeSync();
    this.#conn = undefined;
    this.#db = undefined;
  }
}

/** SELECT over a table's objects, grouped by format, unioned by column name. */
function selectOver(files: ReadonlyArray<{ path: string; o: CatalogObject }>): string {
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const g = f.o.format === 'csv' && f.o.csvHeader === false ? 'csv-noheader' : f.o.format;
    const list = groups.get(g) ?? [];
    list.push(literal(f.path));
    groups.set(g, list);
  }
  const parts: string[] = [];
  for (const [format, paths] of groups) {
    const list = `[${paths.join(', ')}]`;
    if (format === 'parquet') parts.push(`SELECT * FROM read_parquet(${list}, union_by_name = true, hive_partitioning = true)`);
    else if (format === 'jsonl') parts.push(`SELECT * FROM read_json(${list}, format = 'newline_delimited', union_by_name = true, hive_partitioning = true)`);
    else parts.push(`SELECT * FROM read_csv(${list}, header = ${format === 'csv' ? 'true' : 'false'}, union_by_name = true, hive_partitioning = true, allow_quoted_nulls = false)`);
  }
  return parts.join(' UNION ALL BY NAME ');
}

async function sizeIs(path: string, size: number): Promise<boolean> {
  try {
    return (await stat(path)).size === size;
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
