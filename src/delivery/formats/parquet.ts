/**
 * Parquet through DuckDB (`@duckdb/node-api`): rows go into a temporary typed table with
 * DuckDB's appender and `COPY … TO … (FORMAT parquet)` writes the file with the codec inside
 * (zstd, snappy, gzip or none). DuckDB was the fastest writer measured here (docs/lake.md);
 * its memory is capped by `memory_limit`, and one table lives only for one object.
 */
import { DuckDBDataChunk, DuckDBInstance, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { DuckDBValue } from '@duckdb/node-api';
import type { Compression } from '../compression.ts';
import type { FailedRow, FormatWriter, OutputColumn, RowSource, WriteResult } from './format.ts';
import { canBeSpecial, duckType, specialOf, SPECIAL_SUFFIX, toDuck } from './parquet-types.ts';

/** Double-quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Single-quotes an SQL string literal. */
export function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Rows per DuckDB data chunk (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

export class ParquetWriter implements FormatWriter {
  readonly extension = 'parquet';
  readonly contentType = 'application/vnd.apache.parquet';
  readonly #memoryLimitMiB: number;
  readonly #rowGroupSize: number;
  #conn: Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> | undefined;
  #n = 0;
  // DuckDB work is serialized: one connection, one object at a time.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { readonly memoryLimitMiB: number; readonly rowGroupSize: number }) {
    this.#memoryLimitMiB = options.memoryLimitMiB;
    this.#rowGroupSize = options.rowGroupSize;
  }

  async #connection(): Promise<DuckDBConnection> {
    this.#conn ??= (async () => {
      const instance = await DuckDBInstance.create(':memory:', { memory_limit: `${this.#memoryLimitMiB}MB`, threads: '1' });
      return { instance, conn: await instance.connect() };
    })();
    return (await this.#conn).conn;
  }

  write(columns: readonly OutputColumn[], rows: RowSource, file: string, compression: Compression): Promise<WriteResult> {
    const run = this.#queue.then(() => this.#write(columns, rows, file, compression));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(columns: readonly OutputColumn[], rows: RowSource, file: string, compression: Compression): Promise<WriteResult> {
    const conn = await this.#connection();
    const failed: FailedRow[] = [];
    // Which columns need a `__special` sibling in this object.
    const special = new Set<string>();
    for (const c of columns) {
      if (!canBeSpecial(c.type)) continue;
      for (let i = 0; i < rows.length; i++) if (specialOf(c.type, rows.value(i, c.name)) !== undefined) {
        special.add(c.name);
        break;
      }
    }
    const defs: string[] = [];
    for (const c of columns) {
      defs.push(`${ident(c.name)} ${duckType(c.type)}`);
      if (special.has(c.name)) defs.push(`${ident(c.name + SPECIAL_SUFFIX)} VARCHAR`);
    }
    const table = `hydrant_out_${++this.#n}`;
    await conn.run(`CREATE TABLE ${table} (${defs.join(', ')})`);
    try {
      const appender = await conn.createAppender(table);
      const width = defs.length;
      const types: DuckDBType[] = [];
      for (let k = 0; k < width; k++) types.push(appender.columnType(k));
      // Values go in column-wise through data chunks: one native call per vector instead of
      // one per value (about twice the appender's per-value rate here).
      let cols: DuckDBValue[][] = types.map(() => []);
      let inChunk = 0;
      const flushChunk = (): void => {
        if (inChunk === 0) return;
        const chunk = DuckDBDataChunk.create(types, inChunk);
        chunk.setColumns(cols);
        appender.appendDataChunk(chunk);
        cols = types.map(() => []);
        inChunk = 0;
      };
      const converted: DuckDBValue[] = new Array(width);
      const names = columns.map((c) => c.name);
      const ctypes = columns.map((c) => c.type);
      const hasSpecial = columns.map((c) => special.has(c.name));
      const n = columns.length;
      let written = 0;
      for (let i = 0; i < rows.length; i++) {
        try {
          let k = 0;
          for (let j = 0; j < n; j++) {
            const v = rows.value(i, names[j] as string);
            const t = ctypes[j] as OutputColumn['type'];
            if (hasSpecial[j] === true) {
              const sp = specialOf(t, v);
              converted[k++] = v === null || sp !== undefined ? null : toDuck(t, v);
              converted[k++] = sp ?? null;
            } else converted[k++] = v === null ? null : toDuck(t, v);
          }
        } catch (err) {
          failed.push({ index: i, error: (err as Error).message });
          continue;
        }
        for (let k = 0; k < width; k++) (cols[k] as DuckDBValue[]).push(converted[k] as DuckDBValue);
        written++;
        if (++inChunk === CHUNK_ROWS) flushChunk();
      }
      flushChunk();
      appender.closeSync();
      const codec = compression === 'none' ? 'uncompressed' : compression;
      await conn.run(`COPY ${table} TO ${literal(file)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE ${this.#rowGroupSize})`);
      return { rows: written, failed };
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${table}`);
    }
  }

  async close(): Promise<void> {
    if (this.#conn === undefined) return;
    const { instance, conn } = await this.#conn;
    conn.closeSync();
    instance.closeSync();
    this.#conn = undefined;
  }
}
