/**
 * Preflight: everything the server must allow before capture can work, each finding with
 * exactly what to change. Used by `hydrant check FILE` and by the source on start (errors
 * stop it; warnings are logged).
 */
import type { TableSelection } from './config.ts';
import { matchingTables, roleInfo, slotInfo, type SqlClient } from './catalog.ts';

/** One preflight result. */
export interface Finding {
  readonly level: 'ok' | 'warning' | 'error';
  /** Short name of the check, e.g. `wal_level`. */
  readonly check: string;
  /** What was found and, unless ok, what to change. */
  readonly message: string;
}

/** Runs every check for one source. */
export async function preflight(c: SqlClient, o: { readonly slot: string; readonly database: string; readonly selection: TableSelection }): Promise<Finding[]> {
  const out: Finding[] = [];
  const settings = await c.query(`select name, setting from pg_settings where name in ('wal_level', 'max_replication_slots', 'max_wal_senders', 'max_slot_wal_keep_size', 'server_version_num')`);
  const s = new Map(settings.rows.map((x) => [String(x['name']), String(x['setting'])]));

  const version = Number(s.get('server_version_num'));
  if (version < 140000) out.push({ level: 'error', check: 'server_version', message: `PostgreSQL ${version} is too old: Hydrant needs 14 or newer (pgoutput protocol 2)` });

  const wal = s.get('wal_level');
  out.push(wal === 'logical'
    ? { level: 'ok', check: 'wal_level', message: 'wal_level is logical' }
    : { level: 'error', check: 'wal_level', message: `wal_level is ${wal}: set wal_level = logical (ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL)` });

  const role = await roleInfo(c);
  out.push(role.superuser || role.replication
    ? { level: 'ok', check: 'replication_privilege', message: `role ${role.name} may replicate${role.superuser ? ' (superuser: the publication is FOR ALL TABLES and new tables are captured from their first row)' : ''}` }
    : { level: 'error', check: 'replication_privilege', message: `role ${role.name} lacks the REPLICATION attribute: ALTER ROLE ${role.name} REPLICATION (and allow "replication" connections for it in pg_hba.conf)` });
  if (!role.superuser && (role.replication)) {
    out.push({ level: 'warning', check: 'publication_privilege', message: `role ${role.name} is not superuser: the publication lists the matching tables (the role must own them) and new matching tables are added when noticed; rows written to a new table before it is added are not captured — snapshot that table, or use a superuser for FOR ALL TABLES` });
  }

  const slot = await slotInfo(c, o.slot);
  const slots = await c.query('select count(*)::int as n from pg_replication_slots');
  const used = Number(slots.rows[0]?.['n'] ?? 0);
  const max = Number(s.get('max_replication_slots'));
  if (slot === undefined) {
    out.push(used < max
      ? { level: 'ok', check: 'free_slots', message: `${max - used} of ${max} replication slots free; slot ${o.slot} will be created` }
      : { level: 'error', check: 'free_slots', message: `all ${max} replication slots are in use: raise max_replication_slots (restart needed) or drop an unused slot (select pg_drop_replication_slot('name'))` });
  } else if (slot.plugin !== 'pgoutput' || slot.database !== o.database) {
    out.push({ level: 'error', check: 'slot', message: `slot ${o.slot} exists for plugin ${slot.plugin} in database ${slot.database}: choose another slot name` });
  } else if (slot.walStatus === 'lost' || slot.restartLsn === null) {
    out.push({ level: 'error', check: 'slot', message: `slot ${o.slot} is invalidated (wal_status lost): run \`hydrant drop-slot FILE\` and start again with a fresh snapshot` });
  } else {
    out.push({ level: slot.walStatus === 'unreserved' ? 'warning' : 'ok', check: 'slot', message: `slot ${o.slot} exists (wal_status ${slot.walStatus}, retains ${slot.retainedBytes} bytes of WAL${slot.active ? ', in use by another connection' : ''})` });
  }
  const senders = await c.query(`select count(*)::int as n from pg_stat_replication`);
  const maxSenders = Number(s.get('max_wal_senders'));
  if (Number(senders.rows[0]?.['n'] ?? 0) >= maxSenders) out.push({ level: 'error', check: 'wal_senders', message: `all ${maxSenders} WAL senders are busy: raise max_wal_senders (restart needed)` });

  const keep = Number(s.get('max_slot_wal_keep_size'));
  out.push(keep < 0
    ? { level: 'warning', check: 'max_slot_wal_keep_size', message: 'max_slot_wal_keep_size is unlimited (-1): while Hydrant is stopped the slot retains WAL until the disk fills. Set a bound, e.g. ALTER SYSTEM SET max_slot_wal_keep_size = \'50GB\'; SELECT pg_reload_conf(); (beyond it the slot is invalidated and needs a re-snapshot)' }
    : { level: 'ok', check: 'max_slot_wal_keep_size', message: `max_slot_wal_keep_size is ${keep} MB` });

  const tables = await matchingTables(c, o.selection);
  if (tables.length === 0) out.push({ level: 'warning', check: 'tables', message: 'no existing table matches include/exclude: nothing is captured until one is created' });
  for (const t of tables) {
    const name = `${t.schema}.${t.table}`;
    if (t.replicaIdentity === 'n' || (t.replicaIdentity === 'd' && !t.hasPrimaryKey)) {
      out.push({ level: 'warning', check: 'replica_identity', message: `${name} has no primary key or replica identity: once it is in the publication PostgreSQL rejects its UPDATEs and DELETEs. Add a primary key, or fall back to ALTER TABLE ${name} REPLICA IDENTITY FULL (events then carry the whole old row; the key is empty, so its changes share one partition)` });
    }
  }
  if (tables.length > 0 && !out.some((f) => f.check === 'replica_identity')) out.push({ level: 'ok', check: 'replica_identity', message: `${tables.length} matching tables, each with a primary key or replica identity` });
  return out;
}

/** Renders findings as lines for the CLI. */
export function formatFindings(source: string, findings: readonly Finding[]): string {
  return findings.map((f) => `${f.level === 'ok' ? 'ok     ' : f.level === 'warning' ? 'WARNING' : 'ERROR  '} ${source}: ${f.check}: ${f.message}`).join('\n');
}
