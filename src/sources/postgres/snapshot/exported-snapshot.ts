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
