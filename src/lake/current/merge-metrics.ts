/** Metrics of current-state merges, shared by both merge paths. */
import type { Metrics } from '../../core/metrics.ts';
import type { Manifest } from './manifest.ts';

/**
 * Records a committed merge and returns its lag in seconds: from the source commit of the
 * batch's oldest change (the one that waited longest) to `now`; null when nothing was applied.
 */
export function recordMerge(metrics: Metrics | undefined, table: string, oldestCommitMs: number, changes: number, m: Manifest, now: number): number | null {
  const lag = Number.isFinite(oldestCommitMs) ? Math.max(0, (now - oldestCommitMs) / 1000) : null;
  if (metrics === undefined) return lag;
  const labels = { table };
  if (lag !== null) metrics.set('hydrant_merge_lag_seconds', 'Seconds from source commit to visible in the current-state table (oldest change of the last merge).', labels, lag);
  metrics.inc('hydrant_merge_changes_total', 'Changes merged into current-state tables.', labels, changes);
  metrics.set('hydrant_current_rows', 'Rows in the current-state table.', labels, m.rows);
  metrics.set('hydrant_current_version', 'Readable version of the current-state table.', labels, m.version);
  return lag;
}
