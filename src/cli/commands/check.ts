/** `hydrant check FILE`: preflight checks of every source that has them (PostgreSQL today). */
import { HydrantError } from '../../core/errors.ts';
import { checkPostgresSource } from '../../sources/postgres/admin.ts';
import type { PostgresConfig } from '../../sources/postgres/config.ts';
import { formatFindings } from '../../sources/postgres/preflight.ts';
import type { Command } from '../command.ts';
import { loadPipelineOrReport } from '../pipeline-file.ts';

export const checkCommand: Command = {
  name: 'check',
  summary: 'check that each source\'s server allows capture (wal_level, privileges, replica identity, slots) and say what to change',
  usage: 'hydrant check FILE',
  async run(args) {
    const file = args[0];
    if (args.length !== 1 || file === undefined || file.startsWith('-')) {
      process.stderr.write('usage: hydrant check FILE\n');
      return 2;
    }
    const spec = await loadPipelineOrReport(file);
    if (spec === undefined) return 1;
    let errors = 0;
    for (const [name, s] of Object.entries(spec.sources)) {
      if (s.type !== 'postgres') {
        process.stdout.write(`ok      ${name}: source kind ${s.type} has no server checks\n`);
        continue;
      }
      try {
        const findings = await checkPostgresSource(name, s.config as PostgresConfig);
        process.stdout.write(formatFindings(name, findings) + '\n');
        errors += findings.filter((f) => f.level === 'error').length;
      } catch (err) {
        if (!(err instanceof HydrantError)) throw err;
        process.stdout.write(`ERROR   ${name}: ${err.message}\n`);
        errors++;
      }
    }
    process.stdout.write(errors === 0 ? 'all checks passed\n' : `${errors} problem${errors === 1 ? '' : 's'} to fix\n`);
    return errors === 0 ? 0 : 1;
  },
};
