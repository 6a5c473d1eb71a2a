/**
 * `hydrant query FILE "SQL" [--format table|csv|json]`: runs SQL (DuckDB) over the lake and
 * catalog of the pipeline FILE. Tables: `<source>.<schema>.<table>_changes` (change history),
 * `<source>.<schema>.<table>` (current state after `hydrant merge`), `events.<source>`.
 * Opens the pipeline's embedded state store read-only (no lock), so it also runs while
 * `hydrant run` fills the lake; it sees the catalog as committed when it started.
 */
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { HydrantError } from '../../core/errors.ts';
import { loadRuntimeSpec } from '../../runtime/load-runtime-spec.ts';
import { EmbeddedStateStore } from '../../state/embedded/embedded-state-store.ts';
import { openObjectStore } from '../../lake/lake-config.ts';
import { LakeQuery } from '../../lake/query/lake-query.ts';
import { OUTPUT_FORMATS, renderResult, type OutputFormat } from '../../lake/query/render.ts';
import { silentLogger } from '../../core/logger.ts';

const USAGE = 'hydrant query FILE "SQL" [--format table|csv|json]';

/** Parsed `query` arguments. */
export function parseQueryArgs(args: readonly string[]): { file: string; sql: string; format: OutputFormat } {
  const pos: string[] = [];
  let format: OutputFormat = 'table';
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--format' || a.startsWith('--format=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (!(OUTPUT_FORMATS as readonly string[]).includes(v ?? '')) throw new HydrantError('USAGE', `--format must be one of ${OUTPUT_FORMATS.join(', ')}, found ${JSON.stringify(v ?? '')}; usage: ${USAGE}`);
      format = v as OutputFormat;
    } else if (a.startsWith('--')) throw new HydrantError('USAGE', `unknown option ${a}; usage: ${USAGE}`);
    else pos.push(a);
  }
  if (pos.length !== 2) throw new HydrantError('USAGE', `expected a pipeline file and one SQL string, found ${pos.length} argument(s); usage: ${USAGE}`);
  return { file: pos[0] as string, sql: pos[1] as string, format };
}

export const queryCommand: Command = {
  name: 'query',
  summary: 'Run SQL (DuckDB) over the lake: <source>.<schema>.<table>_changes, current tables, events.<source>.',
  usage: USAGE,
  async run(args) {
    const a = parseQueryArgs(args);
    const spec = await loadRuntimeSpec(a.file);
    const state = await EmbeddedStateStore.openReadOnly({ dataDir: spec.dataDir, logger: silentLogger });
    const lake = openObjectStore(spec.lake, spec.dataDir);
    const q = new LakeQuery({ state, lake, cacheDir: join(spec.dataDir, 'query-cache'), note: (m) => process.stderr.write(`hydrant query: ${m}\n`) });
    try {
      process.stdout.write(renderResult(await q.run(a.sql), a.format));
      return 0;
    } finally {
      await q.close();
      await lake.close();
      await state.close();
    }
  },
};
