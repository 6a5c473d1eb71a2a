/**
 * What the snapshot needs to know about one table: its captured columns with a binary (or text)
 * decoder each, the SELECT list for COPY (types without a binary decoder are sent as their text
 * output and parsed with the change stream's text parser), the key used for chunking and for matching snapshot
 * rows with changes, and its {@link TableSchema} built exactly the way the change stream's
 * `Relations` builds it (same columns, types, nullability, key), so snapshot rows and changes
 * share schema versions.
 */
import { latestSchema, sameColumns, type ColumnSchema, type TableSchema } from '../../../core/schema.ts';
import type { StateStore } from '../../../state/state-store.ts';
import type { SqlClient } from '../catalog.ts';
import type { TableSelection } from '../config.ts';
import { quoteIdent } from '../replication-connection.ts';
import type { TypeResolver } from '../type-map.ts';
import { valueToJson } from '../../../core/values.ts';
import { binaryJsonFor } from './binary-json.ts';
import { arrayDecoder, BINARY_DECODERS, ENUM_DECODER, type BinaryDecoder } from './binary-values.ts';
import type { CopyColumn } from './copy-binary.ts';

/** One table as the snapshot reads it. */
export interface SnapshotTable {
  readonly schema: string;
  readonly table: string;
  readonly oid: number;
  /** `"schema"."table"`. */
  readonly qualified: string;
  /** Captured columns in COPY order. */
  readonly columns: readonly CopyColumn[];
  /** The COPY SELECT list (text casts for types without a binary decoder). */
  readonly selectList: string;
  /** Key columns (primary key, else a replica-identity index); empty when the table has none. */
  readonly key: readonly string[];
  /** `format_type` of each key column, for typed literals in chunk bounds. */
  readonly keyTypes: readonly string[];
  /** The schema, version not yet resolved (see {@link resolveSchemaVersion}). */
  readonly columnsSchema: Pick<TableSchema, 'columns' | 'primaryKey'>;
}

const COLUMNS_SQL = `select a.attname::text as name, a.atttypid::int as oid, a.atttypmod as typmod, a.attnotnull as nn,
    format_type(a.atttypid, a.atttypmod) as fmt, t.typtype::text as typtype, t.typbasetype::int as base,
    t.typelem::int as elem, t.typcategory::text as cat, et.typtype::text as elemtype,
    (select array_position(i.indkey::int2[], a.attnum) from pg_index i where i.indrelid = a.attrelid and i.indisprimary) as pkpos,
    (select array_position(i.indkey::int2[], a.attnum) from pg_index i where i.indrelid = a.attrelid and i.indisreplident) as ripos,
    c.relreplident::text as ident
  from pg_attribute a join pg_type t on t.oid = a.atttypid join pg_class c on c.oid = a.attrelid
  left join pg_type et on et.oid = t.typelem and t.typcategory = 'A'
  where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
  order by a.attnum`;

/** Reads a table's columns and key from the catalog (inside the snapshot when called there). */
export async function describeTable(sql: SqlClient, resolver: TypeResolver, selection: TableSelection, t: { schema: string; table: string; oid: number }): Promise<SnapshotTable> {
  const rows = (await sql.query(COLUMNS_SQL, [t.oid])).rows;
  const ident = String(rows[0]?.['ident'] ?? 'd');
  const pk = rows.filter((r) => r['pkpos'] !== null).sort((a, b) => Number(a['pkpos']) - Number(b['pkpos'])).map((r) => String(r['name']));
  // The same rule as Relations: primary key, else the replica-identity index's columns in column order.
  const key = pk.length > 0 ? pk : ident === 'i' ? rows.filter((r) => r['ripos'] !== null).map((r) => String(r['name'])) : [];
  const flagged = new Set(ident === 'f' ? rows.map((r) => String(r['name'])) : key);
  const columns: CopyColumn[] = [];
  const schemaCols: ColumnSchema[] = [];
  const select: string[] = [];
  for (const r of rows) {
    const name = String(r['name']);
    if (!(selection.column(t.schema, t.table, name) || flagged.has(name) || pk.includes(name))) continue;
    const resolved = await resolver.resolve(Number(r['oid']), Number(r['typmod']));
    schemaCols.push({ name, type: resolved.type, nullable: r['nn'] !== true, sourceType: resolved.sourceType });
    const bin = binaryDecoderFor(r);
    if (bin !== undefined) {
      const typtype = String(r['typtype']);
      columns.push({ name, decode: bin, json: binaryJsonFor(typtype === 'd' ? Number(r['base']) : typtype === 'e' ? 0 : Number(r['oid']), bin) });
      select.push(quoteIdent(name));
    } else {
      const parse = resolved.parse;
      const decode: BinaryDecoder = (b, off, len) => parse(b.toString('utf8', off, off + len));
      columns.push({ name, decode, json: (b, off, len) => valueToJson(decode(b, off, len)) });
      // The type's output function (what pgoutput sends); `::text` differs for some types
      // (inet prints its netmask, bool prints `true`). format() turns NULL into '', hence the case.
      select.push(`case when ${quoteIdent(name)} is null then null else format('%s', ${quoteIdent(name)}) end`);
    }
  }
  const keyTypes = key.map((k) => String(rows.find((r) => r['name'] === k)?.['fmt']));
  return {
    schema: t.schema,
    table: t.table,
    oid: t.oid,
    qualified: `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`,
    columns,
    selectList: select.join(', '),
    key,
    keyTypes,
    columnsSchema: { columns: schemaCols, primaryKey: key },
  };
}

function binaryDecoderFor(r: Record<string, unknown>): BinaryDecoder | undefined {
  const typtype = String(r['typtype']);
  const oid = typtype === 'd' ? Number(r['base']) : Number(r['oid']);
  const direct = BINARY_DECODERS.get(oid);
  if (direct !== undefined) return direct;
  if (typtype === 'e') return ENUM_DECODER;
  if (typtype !== 'd' && r['cat'] === 'A') {
    const el = BINARY_DECODERS.get(Number(r['elem'])) ?? (r['elemtype'] === 'e' ? ENUM_DECODER : undefined);
    if (el !== undefined) return arrayDecoder(el);
  }
  return undefined;
}

/**
 * The schema version for the table's current columns: the newest recorded version when it has
 * the same columns, else a new version (`isNew`) that must travel with the batch.
 */
export async function resolveSchemaVersion(state: StateStore, source: string, database: string, t: SnapshotTable): Promise<{ schema: TableSchema; isNew: boolean }> {
  const latest = await latestSchema(state, { source, schema: t.schema, table: t.table });
  if (latest !== undefined && sameColumns(latest, t.columnsSchema)) return { schema: latest, isNew: false };
  const schema: TableSchema = { source, database, schema: t.schema, table: t.table, version: (latest?.version ?? 0) + 1, columns: t.columnsSchema.columns, primaryKey: t.columnsSchema.primaryKey };
  return { schema, isNew: true };
}
