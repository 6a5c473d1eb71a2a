/**
 * Reads the lake delivery's change objects (Parquet or JSONL, see `src/delivery/lake/rows.ts`)
 * back into change events for the merge. A change row is the row image plus `_op`,
 * `_commit_time` and `_position`; an optional `_unchanged` column (a JSON array of column
 * names) carries TOAST-unchanged columns, and an optional `_old_key` column (the lossless JSON
 * of the key's columns) the old key of an update that changed the key.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ChangeEvent, ChangeOp } from '../../core/change-event.ts';
import type { TableSchema } from '../../core/schema.ts';
import { decodeValue, Timestamp, type Row, type Value } from '../../core/values.ts';
import type { CatalogObject } from '../catalog/catalog.ts';
import type { ObjectStore } from '../object-store.ts';
import { decompress, type Compression } from '../../delivery/compression.ts';
import { fromChangeValue } from './change-values.ts';
import { MergeError } from './errors.ts';
import { localCopy } from './local-files.ts';
import { literal } from './parquet-rows.ts';
import type { TableRef } from './manifest.ts';

const OPS = new Set<string>(['insert', 'update', 'delete', 'snapshot', 'truncate']);
const SPECIAL = '__special';

/** Change events of one catalog object, in the object's row order. */
export async function readChangeObject(o: CatalogObject, deps: { readonly lake: ObjectStore; readonly conn: DuckDBConnection; readonly tmpDir: string; readonly table: TableRef; readonly schema: TableSchema }): Promise<ChangeEvent[]> {
  const rows = o.format === 'parquet' ? await parquetRows(o, deps) : o.format === 'jsonl' ? await jsonlRows(o, deps.lake, deps.schema) : undefined;
  if (rows === undefined) {
    throw new MergeError(`change object ${o.key} is ${o.format}; current-state tables are merged from parquet or jsonl change objects. Set the delivery's format to parquet (or jsonl) for tables you want merged.`, { key: o.key });
  }
  return rows.map((r, i) => toEvent(r, o, i, deps.table, deps.schema));
}

interface ChangeRow {
  readonly meta: { readonly op: unknown; readonly position: unknown; readonly commitTime: unknown; readonly unchanged: unknown; readonly oldKey: unknown };
  readonly image: Row;
}

async function parquetRows(o: CatalogObject, deps: { readonly lake: ObjectStore; readonly conn: DuckDBConnection; readonly tmpDir: string; readonly schema: TableSchema }): Promise<ChangeRow[]> {
  const local = await localCopy(deps.lake, o.key, deps.tmpDir);
  try {
    const reader = await deps.conn.runAndReadAll(`SELECT * FROM read_parquet(${literal(local.path)})`);
    const names = reader.columnNames();
    const cols = reader.getColumns();
    const col = (name: string): DuckDBValue[] | undefined => {
      const i = names.indexOf(name);
      return i < 0 ? undefined : cols[i];
    };
    const n = reader.currentRowCount;
    const op = col('_op');
    const pos = col('_position');
    const ct = col('_commit_time');
    const un = col('_unchanged');
    const ok = col('_old_key');
    const data = deps.schema.columns.map((c) => ({ c, values: col(c.name), special: col(c.name + SPECIAL) }));
    const out: ChangeRow[] = [];
    for (let r = 0; r < n; r++) {
      const image: Row = {};
      for (const d of data) {
        if (d.values === undefined) continue;
        const sp = d.special?.[r] ?? null;
        image[d.c.name] = fromChangeValue(d.c.type, d.values[r] ?? null, sp === null ? null : String(sp));
      }
      const ctv = ct?.[r] as { micros?: bigint } | null | undefined;
      out.push({ meta: { op: op?.[r], position: pos?.[r], commitTime: ctv?.micros === undefined ? undefined : new Timestamp(ctv.micros, true), unchanged: un?.[r] ?? null, oldKey: ok?.[r] ?? null }, image });
    }
    return out;
  } finally {
    await local.release();
  }
}

async function jsonlRows(o: CatalogObject, lake: ObjectStore, schema: TableSchema): Promise<ChangeRow[]> {
  const text = Buffer.from(await decompress(o.compression as Compression, await lake.get(o.key))).toString('utf8');
  const names = new Set(schema.columns.map((c) => c.name));
  const out: ChangeRow[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const j = JSON.parse(line) as Record<string, unknown>;
    const image: Row = {};
    for (const k of Object.keys(j)) if (names.has(k)) image[k] = decodeValue(j[k]);
    out.push({ meta: { op: j['_op'], position: j['_position'], commitTime: decodeValue(j['_commit_time'] ?? null), unchanged: j['_unchanged'] ?? null, oldKey: j['_old_key'] ?? null }, image });
  }
  return out;
}

function toEvent(r: ChangeRow, o: CatalogObject, i: number, t: TableRef, schema: TableSchema): ChangeEvent {
  const { op, position, commitTime } = r.meta;
  if (typeof op !== 'string' || !OPS.has(op) || typeof position !== 'string' || !(commitTime instanceof Timestamp)) {
    throw new MergeError(`row ${i} of change object ${o.key} lacks a valid _op, _position or _commit_time; it was not written by Hydrant's lake delivery (or is damaged), so it cannot be merged.`, { key: o.key, row: i });
  }
  const unchanged = parseUnchanged(r.meta.unchanged);
  const image = r.image;
  for (const c of unchanged) delete image[c];
  const key: Row = {};
  for (const k of schema.primaryKey) key[k] = (image[k] ?? null) as Value;
  const source = { kind: 'lake', name: t.source, database: '', schema: t.schema, table: t.table, position, commitTime };
  const base = { source, schemaVersion: o.schemaVersion, ...(unchanged.length > 0 ? { unchanged } : {}) };
  switch (op as ChangeOp) {
    case 'truncate': return { ...base, op: 'truncate', key: {}, before: null, after: null };
    case 'delete': return { ...base, op: 'delete', key, before: image, after: null };
    // The old key as `before`: the merge moves the row from it (see CurrentState).
    case 'update': return { ...base, op: 'update', key, before: parseOldKey(r.meta.oldKey, o.key, i), after: image };
    default: return { ...base, op: op as ChangeOp, key, before: null, after: image };
  }
}

function parseOldKey(v: unknown, object: string, row: number): Row | null {
  if (v === null || v === undefined || v === '') return null;
  const decoded = decodeValue(JSON.parse(String(v)));
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded) || decoded instanceof Uint8Array) {
    throw new MergeError(`row ${row} of change object ${object} has an _old_key that is not a key (${String(v).slice(0, 80)}); the object is damaged, so it cannot be merged.`, { key: object, row });
  }
  return decoded as Row;
}

function parseUnchanged(v: unknown): string[] {
  if (v === null || v === undefined || v === '') return [];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'object' && Array.isArray((v as { items?: unknown }).items)) return ((v as { items: unknown[] }).items).map(String);
  const parsed = JSON.parse(String(v)) as unknown;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}
