/**
 * What `hydrant demo` (or any tool) prints about a lake after a run: the change counts per
 * table and operation from a SQL query over the catalog tables, and the command to query the
 * lake again. The demo calls {@link lakeSummary} once the pipeline has stopped (the embedded
 * state store must be closed by the runner first).
 */
import { join } from 'node:path';
import type { LakeConfig } from '../lake-config.ts';
import { openObjectStore } from '../lake-config.ts';
import { EmbeddedStateStore } from '../../state/embedded/embedded-state-store.ts';
import { silentLogger } from '../../core/logger.ts';
import { LakeQuery } from './lake-query.ts';
import { renderResult } from './render.ts';

/** SQL over every `_changes` table: changes per table and operation. */
export function changeCountsSql(tables: readonly string[]): string | undefined {
  const changes = tables.filter((t) => t.endsWith('_changes'));
  if (changes.length === 0) return undefined;
  return changes.map((t) => `SELECT '${t.replace(/'/g, "''")}' AS "table", _op AS op, count(*) AS changes FROM ${t.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.')} GROUP BY _op`).join('\nUNION ALL ') + '\nORDER BY 1, 2';
}

/**
 * Runs the change-count query over the lake of a pipeline and returns the lines to print:
 * the SQL, its result as a table, and `hydrant query <pipelineFile> "<sql>"` to run it again.
 */
export async function lakeSummary(o: { readonly dataDir: string; readonly lake: LakeConfig; readonly pipelineFile: string; readonly commandPrefix?: string }): Promise<string[]> {
  const state = await EmbeddedStateStore.openReadOnly({ dataDir: o.dataDir, logger: silentLogger });
  const store = openObjectStore(o.lake, o.dataDir);
  const q = new LakeQuery({ state, lake: store, cacheDir: join(o.dataDir, 'query-cache') });
  try {
    const sql = changeCountsSql(await q.tableNames());
    if (sql === undefined) return ['The lake has no change tables yet.'];
    const tables = await q.tableNames();
    const result = renderResult(await q.run(sql), 'table').trimEnd().split('\n');
    const example = tables.find((t) => t.endsWith('_changes'));
    const short = `SELECT _op, count(*) AS changes FROM ${example} GROUP BY _op ORDER BY _op`;
    return [
      '',
      `Lake (${store.location}), queried with SQL:`,
      ...sql.split('\n').map((l) => `  ${l}`),
      '',
      ...result.map((l) => `  ${l}`),
      '',
      'Query the lake yourself, e.g.:',
      `  ${o.commandPrefix ?? ''}hydrant query ${o.pipelineFile} "${short}"`,
      `  ${o.commandPrefix ?? ''}hydrant tables ${o.pipelineFile}`,
    ];
  } finally {
    await q.close();
    await store.close();
    await state.close();
  }
}
