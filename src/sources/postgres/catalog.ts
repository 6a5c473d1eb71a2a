/**
 * Slots, publications and the catalog queries around them: which tables match the
 * selection, what the role may do, and the slot's health. Everything goes through a normal
 * (non-replication) SQL connection described by {@link SqlClient}.
 */
import { HydrantError } from '../../core/errors.ts';
import type { TableSelection } from './config.ts';
import { quoteIdent } from './replication-connection.ts';

/** The subset of `pg.Client` these functions need. */
export interface SqlClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** A captured table as the catalog describes it now. */
export interface CatalogTable {
  readonly schema: string;
  readonly table: string;
  readonly oid: number;
  /** `d` default (primary key), `n` nothing, `f` full, `i` index. */
  readonly replicaIdentity: string;
  readonly hasPrimaryKey: boolean;
}

/** The replication slot as `pg_replication_slots` shows it. */
export interface SlotInfo {
  readonly name: string;
  readonly plugin: string;
  readonly database: string;
  readonly active: boolean;
  readonly confirmedFlushLsn: string | null;
  readonly restartLsn: string | null;
  /** `reserved`, `extended`, `unreserved` or `lost`. */
  readonly walStatus: string | null;
  readonly safeWalSize: string | null;
  /** Bytes of WAL between the slot's restart point and the current WAL position. */
  readonly retainedBytes: string | null;
  /** Bytes between the confirmed flush position and the current WAL position. */
  readonly lagBytes: string | null;
}

/** The slot is gone or can no longer serve changes: only a new snapshot can recover. */
export class SlotLostError extends HydrantError {
  constructor(slot: string, why: string) {
    super('SLOT_LOST', `replication slot ${slot} ${why}: changes since the last acknowledged position are gone from the server. Re-snapshot: run \`hydrant drop-slot FILE\`, then \`hydrant run FILE\` (a new slot starts with a full snapshot)`, { details: { slot } });
  }
}

/** Tables (ordinary and partitioned) that the selection captures. */
export async function matchingTables(c: SqlClient, sel: TableSelection): Promise<CatalogTable[]> {
  const r = await c.query(`select n.nspname as schema, c.relname as table, c.oid::int as oid, c.relreplident::text as ident,
      exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary) as pk
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
    order by 1, 2`);
  return r.rows
    .map((x) => ({ schema: String(x['schema']), table: String(x['table']), oid: Number(x['oid']), replicaIdentity: String(x['ident']), hasPrimaryKey: x['pk'] === true }))
    .filter((t) => sel.table(t.schema, t.table));
}

/** The connecting role's relevant attributes. */
export async function roleInfo(c: SqlClient): Promise<{ name: string; superuser: boolean; replication: boolean }> {
  const r = await c.query('select current_user as name, rolsuper, rolreplication from pg_roles where rolname = current_user');
  const x = r.rows[0] ?? {};
  return { name: String(x['name']), superuser: x['rolsuper'] === true, replication: x['rolreplication'] === true };
}

/** The slot, or undefined when it does not exist. */
export async function slotInfo(c: SqlClient, slot: string): Promise<SlotInfo | undefined> {
  const r = await c.query(`select slot_name, plugin, database, active, confirmed_flush_lsn::text as cf, restart_lsn::text as rl, wal_status, safe_wal_size::text as safe,
      (pg_current_wal_lsn() - restart_lsn)::text as retained, (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag
    from pg_replication_slots where slot_name = $1`, [slot]);
  const x = r.rows[0];
  if (x === undefined) return undefined;
  const s = (k: string): string | null => (x[k] === null || x[k] === undefined ? null : String(x[k]));
  return {
    name: String(x['slot_name']), plugin: String(x['plugin']), database: String(x['database']), active: x['active'] === true,
    confirmedFlushLsn: s('cf'), restartLsn: s('rl'), walStatus: s('wal_status'), safeWalSize: s('safe'), retainedBytes: s('retained'), lagBytes: s('lag'),
  };
}

/** Creates the logical slot with pgoutput when it is missing; checks it when it exists. */
export async function ensureSlot(c: SqlClient, slot: string, database: string): Promise<{ created: boolean }> {
  const s = await slotInfo(c, slot);
  if (s === undefined) {
    await c.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    return { created: true };
  }
  if (s.plugin !== 'pgoutput') throw new HydrantError('SLOT_MISMATCH', `replication slot ${slot} uses plugin ${s.plugin}, not pgoutput: choose another \`slot\` name in the pipeline file, or drop that slot if nothing else uses it`);
  if (s.database !== database) throw new HydrantError('SLOT_MISMATCH', `replication slot ${slot} belongs to database ${s.database}, not ${database}: choose another \`slot\` name`);
  if (s.walStatus === 'lost' || s.restartLsn === null) throw new SlotLostError(slot, 'was invalidated (wal_status lost, max_slot_wal_keep_size exceeded)');
  return { created: false };
}

/** Drops the slot; false when it did not exist. */
export async function dropSlot(c: SqlClient, slot: string): Promise<boolean> {
  const s = await slotInfo(c, slot);
  if (s === undefined) return false;
  await c.query('select pg_drop_replication_slot($1)', [slot]);
  return true;
}

/**
 * Creates the publication when missing. With `allTables` it is `FOR ALL TABLES` (superuser
 * only in PostgreSQL 15); otherwise it lists `tables`, and an existing list publication gets
 * the matching tables it lacks (the role must own them). Returns the tables it added.
 */
export async function ensurePublication(c: SqlClient, name: string, allTables: boolean, tables: readonly CatalogTable[]): Promise<string[]> {
  const r = await c.query('select puballtables from pg_publication where pubname = $1', [name]);
  const list = (ts: readonly CatalogTable[]): string => ts.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).join(', ');
  const pubOptions = `WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)`;
  if (r.rows.length === 0) {
    if (allTables) await c.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR ALL TABLES ${pubOptions}`);
    else if (tables.length === 0) await c.query(`CREATE PUBLICATION ${quoteIdent(name)} ${pubOptions}`);
    else await c.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list(tables)} ${pubOptions}`);
    return allTables ? [] : tables.map((t) => `${t.schema}.${t.table}`);
  }
  if (r.rows[0]?.['puballtables'] === true) return [];
  const have = await c.query('select schemaname, tablename from pg_publication_tables where pubname = $1', [name]);
  const present = new Set(have.rows.map((x) => `${String(x['schemaname'])}.${String(x['tablename'])}`));
  const missing = tables.filter((t) => !present.has(`${t.schema}.${t.table}`));
  if (missing.length > 0) await c.query(`ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ${list(missing)}`);
  return missing.map((t) => `${t.schema}.${t.table}`);
}
