/**
 * Snapshot progress: rows, chunks, rows/s, ETA and "read again" per table, as views and as
 * metrics; plain log lines when not on a terminal, a completion line per table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../../src/core/logger.ts';
import { Metrics } from '../../../../src/core/metrics.ts';
import { SnapshotProgress } from '../../../../src/sources/postgres/snapshot/progress.ts';

test('progress per table: views, metrics, log lines', () => {
  const metrics = new Metrics();
  const lines: string[] = [];
  const p = new SnapshotProgress('pg', metrics, createLogger({ level: 'info', sink: (l) => lines.push(l) }), { tty: false, intervalMs: 3_600_000 });
  try {
    p.begin('public.t', 1000, 4, 1, 120);
    const start = p.view('public.t');
    assert.ok(start !== undefined);
    assert.equal(start.rows, 0);
    assert.ok(Number.isNaN(start.etaSeconds), 'no ETA before the first row');
    assert.equal(metrics.get('hydrant_snapshot_eta_seconds', { source: 'pg', table: 'public.t' }), -1);
    p.rows('public.t', 250);
    p.superseded('public.t', 3);
    p.chunkDone('public.t');
    const v = p.view('public.t');
    assert.ok(v !== undefined);
    assert.equal(v.rows, 250);
    assert.equal(v.chunksDone, 2);
    assert.equal(v.rowsReadAgain, 120);
    assert.equal(v.rowsSuperseded, 3);
    assert.ok(v.rowsPerSecond > 0 && Number.isFinite(v.etaSeconds) && v.etaSeconds >= 0);
    assert.equal(v.done, false);
    assert.equal(metrics.get('hydrant_snapshot_rows_total', { source: 'pg', table: 'public.t' }), 250);
    assert.equal(metrics.get('hydrant_snapshot_chunks_done', { source: 'pg', table: 'public.t' }), 2);
    assert.equal(metrics.get('hydrant_snapshot_chunks_total', { source: 'pg', table: 'public.t' }), 4);
    assert.equal(metrics.get('hydrant_snapshot_rows_read_again', { source: 'pg', table: 'public.t' }), 120);
    p.report();
    const progress = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((j) => j['msg'] === 'snapshot progress');
    assert.equal(progress.length, 1);
    assert.equal(progress[0]?.['chunks'], '2/4');
    p.chunkDone('public.t');
    p.chunkDone('public.t');
    assert.equal(p.view('public.t')?.done, true);
    assert.equal(p.view('public.t')?.etaSeconds, 0);
    assert.equal(lines.filter((l) => l.includes('snapshot of table complete')).length, 1);
    p.report();
    assert.equal(lines.filter((l) => l.includes('"snapshot progress"')).length, 1, 'finished tables are not reported again');
    assert.match(metrics.render(), /hydrant_snapshot_rows_per_second\{source="pg",table="public.t"\}/);
  } finally {
    p.close();
  }
});
