/**
 * `hydrant drop-slot FILE [SOURCE] [--publication]`: drops the replication slot of the file's
 * PostgreSQL sources (or of one). Slots are never dropped otherwise: dropping one discards the
 * changes it retains, so the next run starts from a new snapshot.
 */
import { HydrantError } from '../../core/errors.ts';
import { dropPostgresSlot } from '../../sources/postgres/admin.ts';
import type { Command } from '../command.ts';
import { loadPostgresTargets } from '../pipeline-file.ts';

export const dropSlotCommand: Command = {
  name: 'drop-slot',
  summary: 'drop the replication slot (and with --publication the publication) of PostgreSQL sources; the next run re-snapshots',
  usage: 'hydrant drop-slot FILE [SOURCE] [--publication]',
  async run(args) {
    const publication = args.includes('--publication');
    const rest = args.filter((a) => a !== '--publication');
    const [file, only] = rest;
    if (file === undefined || rest.length > 2 || rest.some((a) => a.startsWith('-'))) {
      process.stderr.write(`usage: ${this.usage}\n`);
      return 2;
    }
    const targets = await loadPostgresTargets(file, only);
    if (targets === undefined) return 1;
    let failed = 0;
    for (const [name, config] of targets) {
      try {
        const dropped = await dropPostgresSlot(name, config, { publication });
        process.stdout.write(`${name}: ${dropped.length === 0 ? 'nothing to drop' : `dropped ${dropped.join(' and ')}`}\n`);
      } catch (err) {
        if (!(err instanceof HydrantError)) throw err;
        process.stdout.write(`${name}: ${err.message}\n`);
        failed++;
      }
    }
    return failed === 0 ? 0 : 1;
  },
};
