/**
 * `hydrant tables FILE [--format table|csv|json]`: the lake's catalog tables with their schema
 * versions, objects, rows and bytes, and the name to query each by. Opens the state store
 * read-only, so it works beside a running `hydrant run`.
 */
import type { Command } from '../command.ts';
import { HydrantError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { loadRuntimeSpec } from '../../runtime/load-runtime-spec.ts';
import { EmbeddedStateStore } from '../../state/embedded/embedded-state-store.ts';
import { tableSummaries } from '../../lake/catalog/table-summary.ts';
import { OUTPUT_FORMATS, renderResult, type OutputFormat } from '../../lake/query/render.ts';

const USAGE = 'hydrant tables FILE [--format table|csv|json]';

export const tablesCommand: Command = {
  name: 'tables',
  summary: 'List the lake catalog: change, event and current-state tables with schema versions, objects, rows and sizes.',
  usage: USAGE,
  async run(args) {
    let format: OutputFormat = 'table';
    const pos: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (a === '--format') {
        const v = args[++i] ?? '';
        if (!(OUTPUT_FORMATS as readonly string[]).includes(v)) throw new HydrantError('USAGE', `--format must be one of ${OUTPUT_FORMATS.join(', ')}; usage: ${USAGE}`);
        format = v as OutputFormat;
      } else if (a.startsWith('--')) throw new HydrantError('USAGE', `unknown option ${a}; usage: ${USAGE}`);
      else pos.push(a);
    }
    if (pos.length !== 1) throw new HydrantError('USAGE', `expected one pipeline file; usage: ${USAGE}`);
    const spec = await loadRuntimeSpec(pos[0] as string);
    const state = await EmbeddedStateStore.openReadOnly({ dataDir: spec.dataDir, logger: silentLogger });
    try {
      const rows = (await tableSummaries(state)).map((t) => ({ table: t.table, query_as: t.queryAs, kind: t.kind, schema_versions: t.schemaVersions.join(','), objects: t.objects, rows: t.rows, bytes: t.bytes, partitions: t.partitions, errors_objects: t.errorObjects }));
      process.stdout.write(renderResult({ columns: ['table', 'query_as', 'kind', 'schema_versions', 'objects', 'rows', 'bytes', 'partitions', 'errors_objects'], rows }, format));
      return 0;
    } finally {
      await state.close();
    }
  },
};
