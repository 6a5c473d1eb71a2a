/**
 * `hydrant resnapshot`'s request: a `hydrant.resnapshot` logical decoding message in the source
 * database. The pipeline's change stream carries it to the running source (or to the next run:
 * the slot keeps it until the source has passed it), which then re-reads the table chunk by
 * chunk between watermarks while changes keep streaming. No connection to the running process
 * is needed, and the request sits at an exact position in the change stream.
 */
import { HydrantError } from '../../../core/errors.ts';
import { withAdminClient } from '../admin-client.ts';
import { matchingTables } from '../catalog.ts';
import { TableSelection, type PostgresConfig } from '../config.ts';
import { RESNAPSHOT_PREFIX } from './snapshot-engine.ts';

/** Emits a re-snapshot request for `schema.table`; resolves with the request's LSN. */
export async function requestResnapshot(sourceName: string, c: PostgresConfig, table: string): Promise<string> {
  return withAdminClient(sourceName, c, 'resnapshot', async (client, names) => {
    const dot = table.indexOf('.');
    const schema = dot < 0 ? 'public' : table.slice(0, dot);
    const name = dot < 0 ? table : table.slice(dot + 1);
    const tables = await matchingTables(client, new TableSelection(c));
    if (!tables.some((t) => t.schema === schema && t.table === name)) {
      throw new HydrantError('NOT_CAPTURED', `source ${sourceName} does not capture table ${schema}.${name} (check that it exists in ${c.database} and matches the source's include/exclude patterns)`);
    }
    const slot = await client.query('select 1 from pg_replication_slots where slot_name = $1', [names.slot]);
    if (slot.rows.length === 0) throw new HydrantError('NO_SLOT', `source ${sourceName} has no replication slot ${names.slot} yet: run the pipeline first (with snapshot: initial it loads every table anyway)`);
    const r = await client.query(`select pg_logical_emit_message(false, $1, $2)::text as lsn`, [RESNAPSHOT_PREFIX, `${schema}.${name}`]);
    return String(r.rows[0]?.lsn);
  });
}
