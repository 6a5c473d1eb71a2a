/**
 * Administrative operations behind `hydrant check` and `hydrant drop-slot`, on a short-lived
 * normal connection.
 */
import { HydrantError } from '../../core/errors.ts';
import { withAdminClient } from './admin-client.ts';
import { dropSlot, slotInfo } from './catalog.ts';
import { TableSelection, type PostgresConfig } from './config.ts';
import { preflight, type Finding } from './preflight.ts';
import { quoteIdent } from './replication-connection.ts';

/** Runs the preflight checks of one postgres source. */
export async function checkPostgresSource(name: string, c: PostgresConfig): Promise<Finding[]> {
  return withAdminClient(name, c, 'admin', (client, names) => preflight(client, { slot: names.slot, database: c.database, selection: new TableSelection(c) }));
}

/**
 * Drops the source's replication slot (and its publication when asked). The slot must not be
 * in use: stop the pipeline first. Returns what was dropped.
 */
export async function dropPostgresSlot(name: string, c: PostgresConfig, options: { publication: boolean }): Promise<string[]> {
  return withAdminClient(name, c, 'admin', async (client, names) => {
    const dropped: string[] = [];
    const s = await slotInfo(client, names.slot);
    if (s?.active === true) throw new HydrantError('SLOT_ACTIVE', `source ${name}: replication slot ${names.slot} is in use by a running pipeline: stop it first, then run drop-slot again`);
    if (await dropSlot(client, names.slot)) dropped.push(`slot ${names.slot}`);
    if (options.publication) {
      const r = await client.query('select 1 from pg_publication where pubname = $1', [names.publication]);
      if (r.rows.length > 0) {
        await client.query(`DROP PUBLICATION ${quoteIdent(names.publication)}`);
        dropped.push(`publication ${names.publication}`);
      }
    }
    return dropped;
  });
}
