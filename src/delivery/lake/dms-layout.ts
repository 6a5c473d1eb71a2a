/**
 * AWS DMS-compatible object names (layout: dms): full-load objects
 * `<schema>/<table>/LOAD00000001.<ext>` numbered by how many load objects the catalog already
 * holds for the table (so a retry after a crash gets the same number), and change objects
 * named by the commit time of their first change, `<schema>/<table>/YYYYMMDD-HHMMSSfff`, as
 * DMS writes them. Because two objects can start in the same millisecond (several shards),
 * change names get the shard and first sequence appended when `unique` is needed; Hydrant
 * always appends them (`-<shard>-<first>`), which DMS-reading tools accept as any file name.
 */
import { formatMicros } from '../../core/values.ts';
import { safeSegment } from '../partitioning.ts';

/** Key (without extension) of a DMS-layout object. */
export function dmsKeyBase(prefix: string, isLoad: boolean, existingLoads: number, firstCommitMicros: bigint, shard: string, first: string): string {
  if (isLoad) return `${prefix}/LOAD${String(existingLoads + 1).padStart(8, '0')}`;
  const iso = formatMicros(firstCommitMicros); // YYYY-MM-DDTHH:MM:SS.ffffff
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}`;
  return `${prefix}/${stamp}-${safeSegment(shard)}-${first}`;
}
