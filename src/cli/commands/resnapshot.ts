/**
 * `hydrant resnapshot FILE TABLE [SOURCE]`: re-reads one table of a PostgreSQL source while
 * changes keep streaming (chunks between watermarks, no stop). The request travels through the
 * source's change stream, so a running pipeline starts at once and a stopped one when it next
 * runs. TABLE is `schema.table` (or `table` in `public`).
 */
import { HydrantError } from '../../core/errors.ts';
import type { PostgresConfig } from '../../sources/postgres/config.ts';
import { requestResnapshot } from '../../sources/postgres/snapshot/resnapshot-request.ts';
import type { Command } from '../command.ts';
import { loadPostgresTargets } from '../pipeline-file.ts';

export const resnapshotCommand: Command = {
  name: 'resnapshot',
  summary: 'snapshot one table of a PostgreSQL source again while changes keep streaming',
  usage: 'hydrant resnapshot FILE TABLE [SOURCE]',
  async run(args) {
    const [file, table, only] = args;
    if (file === undefined || table === undefined || args.length > 3 || args.some((a) => a.startsWith('-'))) {
      process.stderr.write(`usage: ${this.usage}\n`);
      return 2;
    }
    const targets = await loadPostgresTargets(file, only);
    if (targets === undefined) return 1;
    if (targets.length > 1) {
      process.stderr.write(`${file} has several postgres sources (${targets.map(([n]) => n).join(', ')}): name one, e.g. hydrant resnapshot ${file} ${table} ${targets[0]?.[0]}\n`);
      return 2;
    }
    const [name, config] = targets[0] as [string, PostgresConfig];
    try {
      const lsn = await requestResnapshot(name, config, table);
      process.stdout.write(`${name}: re-snapshot of ${table} requested at ${lsn}; a running pipeline starts it now, a stopped one when it next runs\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof HydrantError)) throw err;
      process.stdout.write(`${name}: ${err.message}\n`);
      return 1;
    }
  },
};
