/**
 * Samples a PostgreSQL source's tables with plain SELECTs for `hydrant scan-pii`: the source
 * itself only streams changes made after its slot exists, and starting it would create the
 * slot and publication. This reads the catalog (columns, primary keys) of the tables the
 * source's `include`/`exclude` select, then up to N rows of each. Read-only, no slot.
 */
import pg from 'pg';
import { ConnectionError } from '../../core/errors.ts';
import type { TableSchema } from '../../core/schema.ts';
import type { Row, Value } from '../../core/values.ts';
import { postgresConfig, resolveNames, TableSelection } from '../../sources/postgres/config.ts';
import type { TableSample } from './pii-detect.ts';

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Samples the tables of the postgres source `name` whose validated config is `config`. */
export async function samplePostgres(name: string, config: unknown, rowsPerTable: number): Promise<TableSample[]> {
  const c = postgresConfig.parse(config);
  const { password } = resolveNames(c, name);
  const selection = new TableSelection(c);
  const client = new pg.Client({ host: c.host, port: c.port, database: c.database, user: c.user, password, application_name: `hydrant scan-pii ${name}` });
  try {
    await client.connect();
  } catch (err) {
    throw new ConnectionError(`scan-pii: cannot connect to PostgreSQL source ${name} at ${c.host}:${c.port}/${c.database} as ${c.user}: ${(err as Error).message}`, { cause: err });
  }
  try {
    await client.query('SET default_transaction_read_only = on');
    const cols = await client.query<{ schema: string; table: string; column: string; type: string; nullable: boolean }>(
      `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY n.nspname, c.relname, a.attnum`,
    );
    const pks = await client.query<{ schema: string; table: string; column: string }>(
      `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE i.indisprimary ORDER BY n.nspname, c.relname, k.ord`,
    );
    const tables = new Map<string, TableSchema & { columns: TableSchema['columns'][number][]; primaryKey: string[] }>();
    for (const r of cols.rows) {
      if (!selection.table(r.schema, r.table)) continue;
      const k = `${r.schema}.${r.table}`;
      let t = tables.get(k);
      if (t === undefined) tables.set(k, (t = { source: name, database: c.database, schema: r.schema, table: r.table, version: 0, columns: [], primaryKey: [] }));
      if (selection.column(r.schema, r.table, r.column)) t.columns.push({ name: r.column, type: { kind: 'unknown' }, nullable: r.nullable, sourceType: r.type });
    }
    for (const r of pks.rows) tables.get(`${r.schema}.${r.table}`)?.primaryKey.push(r.column);
    const out: TableSample[] = [];
    for (const t of tables.values()) {
      if (t.columns.length === 0) continue;
      // Text form of every column: detection works on text, and no value needs a type parser.
      const list = t.columns.map((col) => `${quoteIdent(col.name)}::text AS ${quoteIdent(col.name)}`).join(', ');
      const res = await client.query<Record<string, string | null>>(`SELECT ${list} FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)} LIMIT ${Math.floor(rowsPerTable)}`);
      out.push({ schema: t, rows: res.rows.map((r) => r as Row & Record<string, Value>) });
    }
    return out;
  } finally {
    await client.end().catch(() => {});
  }
}
