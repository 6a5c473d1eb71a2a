/**
 * Exported snapshots. For `initial`, the replication slot is created with
 * `CREATE_REPLICATION_SLOT ... (SNAPSHOT 'export')`: the snapshot shows the database exactly as
 * of the slot's consistent point C, and the slot streams every transaction that commits after
 * it, so rows read inside it and the change stream meet without gap or overlap. The snapshot
 * lives only while the creating replication connection stays idle and open, so the connection
 * is kept until the load inside it is done. For `only`, `pg_export_snapshot()` in a
 * REPEATABLE READ transaction gives the same for parallel readers, without a slot.
 */
import pg from 'pg';
import { HydrantError } from '../../../core/errors.ts';
import { ensurePublication, matchingTables, roleInfo, type SqlClient } from '../catalog.ts';
import type { PostgresConfig, TableSelection } from '../config.ts';
import { parseLsn } from '../lsn.ts';
import { quoteIdent, ReplicationConnection, type ReplicationConnectOptions } from '../replication-connection.ts';
import { connectReader } from './chunk-reader.ts';
import type { ExportedSnapshot } from './snapshot-engine.ts';

/** Creates the logical slot (pgoutput) and keeps its exported snapshot alive until released. */
export async function createSlotWithSnapshot(o: ReplicationConnectOptions, slot: string): Promise<ExportedSnapshot & { consistentLsn: bigint }> {
  const conn = await ReplicationConnection.connect(o);
  try {
    const rows = await conn.command(`CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput (SNAPSHOT 'export')`);
    const r = rows[0];
    if (r === undefined || typeof r['snapshot_name'] !== 'string') throw new HydrantError('SNAPSHOT_EXPORT', `creating replication slot ${slot} returned no exported snapshot`);
    const consistentLsn = parseLsn(String(r['consistent_point']));
    return {
      name: r['snapshot_name'],
      consistentLsn,
      // Just below C: before every change the slot streams (they commit after C).
      positionLsn: consistentLsn - 1n,
      release: () => conn.close(),
    };
  } catch (err) {
    await conn.close();
    throw err;
  }
}

/** Exports a snapshot from a REPEATABLE READ transaction (for `snapshot: only`). */
export async function exportSnapshot(o: ReplicationConnectOptions): Promise<ExportedSnapshot> {
  const c: pg.Client = await connectReader(o, 'snapshot exporter');
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const r = (await c.query(`select pg_export_snapshot() as name, pg_current_wal_lsn()::text as lsn`)).rows[0] as { name: string; lsn: string };
    return { name: r.name, positionLsn: parseLsn(r.lsn), release: async () => void (await c.end().catch(() => {})) };
  } catch (err) {
    await c.end().catch(() => {});
    throw err;
  }
}

/**
 * Creates the publication (when missing) and then the slot with an exported snapshot. The
 * publication must exist before the slot: pgoutput looks it up as of each decoded WAL position,
 * and one created after the slot's consistent point "does not exist" for the changes before it.
 */
export async function prepareInitialSlot(sql: SqlClient, c: PostgresConfig, names: { slot: string; publication: string; selection: TableSelection }, o: ReplicationConnectOptions): Promise<ExportedSnapshot & { consistentLsn: bigint }> {
  const role = await roleInfo(sql);
  const allTables = c.publication_mode === 'all_tables' || (c.publication_mode === 'auto' && role.superuser);
  await ensurePublication(sql, names.publication, allTables, await matchingTables(sql, names.selection));
  return createSlotWithSnapshot(o, names.slot);
}
