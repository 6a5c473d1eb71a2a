/**
 * Schemas through a transform chain: the runner records, for a source edge, the schema of
 * what is stored, which is the source's schema mapped by each transform's optional
 * `mapSchema` (renames, selections, added columns, changed types).
 */
import type { TableSchema } from '../core/schema.ts';
import type { Transform } from './transform.ts';

/** Maps a table schema through `chain` in order; null when a transform drops the table. */
export function mapSchemaThrough(chain: readonly Transform[], schema: TableSchema): TableSchema | null {
  let cur: TableSchema | null = schema;
  for (const t of chain) {
    if (cur === null) return null;
    if (t.mapSchema !== undefined) cur = t.mapSchema(cur);
  }
  return cur;
}
