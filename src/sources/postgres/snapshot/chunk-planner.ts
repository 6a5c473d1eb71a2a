/**
 * Splits a table into chunks that together cover every row exactly once, whenever the rows were
 * written: the first chunk has no lower bound and the last no upper bound, so rows inserted
 * after planning still fall into exactly one chunk.
 *
 * - Key ranges when the table has a key: a dense single integer key is split evenly between
 *   its min and max (cheap, good for serial ids); any other key is walked in key order, one
 *   boundary every `chunkRows` keys (an index-only walk).
 * - CTID (block) ranges for tables without a key (PostgreSQL 14+ scans TID ranges directly).
 *
 * Bounds are kept as PostgreSQL text values so they are exact for every key type and can be
 * stored in the state store as they are.
 */
import type { SqlClient } from '../catalog.ts';
import { quoteIdent, quoteLiteral } from '../replication-connection.ts';
import type { SnapshotTable } from './snapshot-table.ts';

/** A chunk: `[lo, hi)` in key order (or block order for `ctid`); null = unbounded. */
export interface Chunk {
  readonly lo: readonly string[] | null;
  readonly hi: readonly string[] | null;
}

/** How a table was split. */
export interface ChunkPlan {
  readonly by: 'key' | 'ctid';
  readonly chunks: readonly Chunk[];
  /** Row estimate at planning time (for progress and ETA). */
  readonly estimatedRows: number;
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** Plans the chunks of one table. */
export async function planChunks(sql: SqlClient, t: SnapshotTable, chunkRows: number): Promise<ChunkPlan> {
  const estimatedRows = await estimateRows(sql, t);
  if (t.key.length === 0) return planByCtid(sql, t, chunkRows, estimatedRows);
  if (t.key.length === 1 && INTEGER_TYPES.has(t.keyTypes[0] as string)) {
    const k = quoteIdent(t.key[0] as string);
    const r = (await sql.query(`select min(${k})::text as lo, max(${k})::text as hi from ${t.qualified}`)).rows[0] ?? {};
    if (r['lo'] === null || r['lo'] === undefined) return { by: 'key', chunks: [{ lo: null, hi: null }], estimatedRows };
    const lo = BigInt(String(r['lo']));
    const hi = BigInt(String(r['hi']));
    // Even value ranges only pay off for dense keys; sparse or skewed ones (ids with big jumps)
    // would put most rows into one chunk, so they are walked like any other key.
    if (hi - lo + 1n <= BigInt(Math.max(1, estimatedRows)) * 2n) {
      const n = BigInt(Math.max(1, Math.ceil(estimatedRows / chunkRows)));
      const step = (hi - lo + 1n + n - 1n) / n;
      const bounds: string[][] = [];
      for (let i = 1n; i < n; i++) bounds.push([String(lo + step * i)]);
      return { by: 'key', chunks: fromBounds(bounds), estimatedRows };
    }
  }
  const cols = t.key.map(quoteIdent).join(', ');
  // Aliased: an output column named like the key would make ORDER BY sort the text.
  const texts = t.key.map((k, i) => `${quoteIdent(k)}::text as k${i}`).join(', ');
  const bounds: string[][] = [];
  for (;;) {
    const prev = bounds[bounds.length - 1];
    const where = prev === undefined ? '' : `where (${cols}) >= (${literals(t, prev)})`;
    const r = (await sql.query(`select ${texts} from ${t.qualified} ${where} order by ${cols} offset ${chunkRows} limit 1`)).rows[0];
    if (r === undefined) break;
    bounds.push(t.key.map((_, i) => String(r[`k${i}`])));
  }
  return { by: 'key', chunks: fromBounds(bounds), estimatedRows };
}

async function estimateRows(sql: SqlClient, t: SnapshotTable): Promise<number> {
  const r = (await sql.query(`select reltuples::float8 as n from pg_class where oid = $1`, [t.oid])).rows[0];
  const n = Number(r?.['n'] ?? -1);
  if (n >= 0) return Math.round(n);
  // Never vacuumed or analyzed: count (the table is read anyway).
  return Number((await sql.query(`select count(*)::int8::text as n from ${t.qualified}`)).rows[0]?.['n'] ?? 0);
}

async function planByCtid(sql: SqlClient, t: SnapshotTable, chunkRows: number, estimatedRows: number): Promise<ChunkPlan> {
  const r = (await sql.query(`select (pg_relation_size($1::regclass) / current_setting('block_size')::int)::int8::text as pages`, [t.oid])).rows[0];
  const pages = Number(r?.['pages'] ?? 0);
  const perPage = pages > 0 && estimatedRows > 0 ? estimatedRows / pages : 100;
  const pagesPerChunk = Math.max(1, Math.floor(chunkRows / Math.max(1, perPage)));
  const bounds: string[][] = [];
  for (let p = pagesPerChunk; p < pages; p += pagesPerChunk) bounds.push([String(p)]);
  return { by: 'ctid', chunks: fromBounds(bounds), estimatedRows };
}

function fromBounds(bounds: readonly string[][]): Chunk[] {
  const out: Chunk[] = [];
  let lo: string[] | null = null;
  for (const b of bounds) {
    out.push({ lo, hi: b });
    lo = b;
  }
  out.push({ lo, hi: null });
  return out;
}

function literals(t: SnapshotTable, values: readonly string[]): string {
  return values.map((v, i) => `${quoteLiteral(v)}::${t.keyTypes[i] as string}`).join(', ');
}

/** The WHERE clause that selects one chunk (empty when it is the whole table). */
export function chunkPredicate(t: SnapshotTable, by: 'key' | 'ctid', c: Chunk): string {
  const parts: string[] = [];
  if (by === 'ctid') {
    if (c.lo !== null) parts.push(`ctid >= '(${Number(c.lo[0])},0)'::tid`);
    if (c.hi !== null) parts.push(`ctid < '(${Number(c.hi[0])},0)'::tid`);
  } else {
    const cols = `(${t.key.map(quoteIdent).join(', ')})`;
    if (c.lo !== null) parts.push(`${cols} >= (${literals(t, c.lo)})`);
    if (c.hi !== null) parts.push(`${cols} < (${literals(t, c.hi)})`);
  }
  return parts.length === 0 ? '' : `where ${parts.join(' and ')}`;
}

/** The COPY statement of one chunk. */
export function chunkCopySql(t: SnapshotTable, by: 'key' | 'ctid', c: Chunk): string {
  return `COPY (select ${t.selectList} from ${t.qualified} ${chunkPredicate(t, by, c)}) TO STDOUT (FORMAT binary)`;
}
