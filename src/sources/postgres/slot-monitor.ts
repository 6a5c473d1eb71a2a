/**
 * Server-side setup on start and periodic slot health: preflight, publication, slot, then
 * slot lag / wal_status / safe_wal_size as metrics and warnings, and new matching tables for a
 * table-list publication.
 */
import { HydrantError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import { ensurePublication, ensureSlot, matchingTables, roleInfo, slotInfo, SlotLostError, type SqlClient } from './catalog.ts';
import type { PostgresConfig, TableSelection } from './config.ts';
import { formatFindings, preflight } from './preflight.ts';

/** Names and selection of one source. */
export interface SlotTarget {
  readonly source: string;
  readonly slot: string;
  readonly publication: string;
  readonly selection: TableSelection;
}

/**
 * Runs the preflight (errors throw, warnings are logged), creates or extends the publication
 * and creates the slot when missing. Returns whether the publication is FOR ALL TABLES.
 */
export async function prepareServer(sql: SqlClient, c: PostgresConfig, t: SlotTarget, position: string | null, log: Logger): Promise<{ allTables: boolean }> {
  const findings = await preflight(sql, { slot: t.slot, database: c.database, selection: t.selection });
  for (const f of findings) if (f.level === 'warning') log.warn(f.message, { check: f.check });
  const errors = findings.filter((f) => f.level === 'error');
  if (errors.length > 0) throw new HydrantError('PREFLIGHT_FAILED', `PostgreSQL source ${t.source} cannot start:\n${formatFindings(t.source, errors)}`);
  const role = await roleInfo(sql);
  const allTables = c.publication_mode === 'all_tables' || (c.publication_mode === 'auto' && role.superuser);
  const added = await ensurePublication(sql, t.publication, allTables, await matchingTables(sql, t.selection));
  if (added.length > 0) log.info('publication lists tables', { publication: t.publication, added });
  if (position !== null && (await slotInfo(sql, t.slot)) === undefined) throw new SlotLostError(t.slot, 'does not exist although the pipeline has a stored position');
  const { created } = await ensureSlot(sql, t.slot, c.database);
  if (created) log.info('created replication slot', { slot: t.slot });
  return { allTables };
}

/**
 * Reads the slot's health into metrics and warnings; in table-list mode adds new matching
 * tables to the publication. Returns the error that must stop the source, if any.
 */
export async function observeSlot(sql: SqlClient, t: SlotTarget, o: { readonly allTables: boolean; readonly warnBytes: number; readonly metrics: Metrics; readonly log: Logger }): Promise<SlotLostError | undefined> {
  const s = await slotInfo(sql, t.slot);
  if (s === undefined || s.walStatus === 'lost' || s.restartLsn === null) {
    return new SlotLostError(t.slot, s === undefined ? 'was dropped' : 'was invalidated (wal_status lost, max_slot_wal_keep_size exceeded)');
  }
  const labels = { source: t.source, slot: t.slot };
  const m = o.metrics;
  m.set('hydrant_postgres_slot_lag_bytes', 'WAL bytes between the current WAL position and the slot\'s confirmed flush LSN.', labels, Number(s.lagBytes ?? 0));
  m.set('hydrant_postgres_slot_retained_bytes', 'WAL bytes the slot retains (current WAL position minus restart_lsn).', labels, Number(s.retainedBytes ?? 0));
  if (s.safeWalSize !== null) m.set('hydrant_postgres_slot_safe_wal_size_bytes', 'Bytes of WAL that can still be written before the slot is invalidated (safe_wal_size).', labels, Number(s.safeWalSize));
  for (const st of ['reserved', 'extended', 'unreserved', 'lost']) m.set('hydrant_postgres_slot_wal_status', 'Slot wal_status (1 for the current status).', { ...labels, status: st }, st === s.walStatus ? 1 : 0);
  if (Number(s.retainedBytes ?? 0) > o.warnBytes || s.walStatus === 'unreserved') {
    o.log.warn('replication slot retains much WAL', { slot: t.slot, retainedBytes: s.retainedBytes, walStatus: s.walStatus, safeWalSize: s.safeWalSize });
  }
  if (!o.allTables) {
    const added = await ensurePublication(sql, t.publication, false, await matchingTables(sql, t.selection));
    if (added.length > 0) o.log.warn('added new matching tables to the publication; rows written to them before now were not captured: snapshot them', { added });
  }
  return undefined;
}
