/**
 * Progress of a snapshot per table: rows read, rows/s, ETA, chunks done, rows read again after
 * a resume. Published as metrics on every update and reported every few seconds: as one
 * rewritten line when stderr is a terminal, as plain `info` log lines otherwise.
 */
import type { Logger } from '../../../core/logger.ts';
import type { Metrics } from '../../../core/metrics.ts';

interface TableProgress {
  rows: number;
  estimated: number;
  chunksDone: number;
  chunksTotal: number;
  reread: number;
  superseded: number;
  startedMs: number;
  done: boolean;
}

/** A snapshot of one table's progress, for reports and tests. */
export interface TableProgressView {
  readonly table: string;
  readonly rows: number;
  readonly estimatedRows: number;
  readonly rowsPerSecond: number;
  /** Seconds left at the current rate (NaN before any row). */
  readonly etaSeconds: number;
  readonly chunksDone: number;
  readonly chunksTotal: number;
  /** Rows that had been durable before a restart and were read again after it. */
  readonly rowsReadAgain: number;
  /** Chunk rows dropped because a change between the watermarks superseded them. */
  readonly rowsSuperseded: number;
  readonly done: boolean;
}

export class SnapshotProgress {
  readonly #source: string;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #tables = new Map<string, TableProgress>();
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | undefined;
  #lineShown = false;

  constructor(source: string, metrics: Metrics, log: Logger, options: { intervalMs?: number; tty?: boolean } = {}) {
    this.#source = source;
    this.#metrics = metrics;
    this.#log = log;
    this.#tty = options.tty ?? (process.stderr.isTTY === true && process.env['HYDRANT_PROGRESS'] !== 'plain');
    this.#timer = setInterval(() => this.report(), options.intervalMs ?? (this.#tty ? 1000 : 5000));
    this.#timer.unref();
  }

  /** Starts (or restarts, for a re-snapshot) a table. */
  begin(table: string, estimated: number, chunksTotal: number, chunksDone: number, reread: number): void {
    this.#tables.set(table, { rows: 0, estimated, chunksDone, chunksTotal, reread, superseded: 0, startedMs: Date.now(), done: chunksDone >= chunksTotal });
    this.#publish(table);
  }

  /** Counts rows read. */
  rows(table: string, n: number): void {
    const t = this.#tables.get(table);
    if (t === undefined) return;
    t.rows += n;
    this.#metrics.inc('hydrant_snapshot_rows_total', 'Rows read by the snapshot.', { source: this.#source, table }, n);
  }

  superseded(table: string, n: number): void {
    const t = this.#tables.get(table);
    if (t !== undefined) t.superseded += n;
    this.#metrics.inc('hydrant_snapshot_rows_superseded_total', 'Snapshot rows dropped because a change between the watermarks superseded them.', { source: this.#source, table }, n);
  }

  /** A chunk's rows are durable. */
  chunkDone(table: string): void {
    const t = this.#tables.get(table);
    if (t === undefined) return;
    t.chunksDone++;
    if (t.chunksDone >= t.chunksTotal && !t.done) {
      t.done = true;
      const v = this.view(table);
      this.#log.info('snapshot of table complete', { table, rows: v?.rows, rowsPerSecond: Math.round(v?.rowsPerSecond ?? 0), rowsReadAgain: t.reread, rowsSuperseded: t.superseded });
    }
    this.#publish(table);
  }

  view(table: string): TableProgressView | undefined {
    const t = this.#tables.get(table);
    if (t === undefined) return undefined;
    const secs = Math.max(0.001, (Date.now() - t.startedMs) / 1000);
    const rate = t.rows / secs;
    const left = Math.max(0, t.estimated - t.rows);
    return {
      table, rows: t.rows, estimatedRows: t.estimated, rowsPerSecond: rate, etaSeconds: t.done ? 0 : rate > 0 ? left / rate : NaN,
      chunksDone: t.chunksDone, chunksTotal: t.chunksTotal, rowsReadAgain: t.reread, rowsSuperseded: t.superseded, done: t.done,
    };
  }

  /** Every table's progress. */
  views(): TableProgressView[] {
    return [...this.#tables.keys()].map((k) => this.view(k) as TableProgressView);
  }

  /** Writes the progress line (terminal) or log lines (otherwise) for unfinished tables. */
  report(): void {
    const active = this.views().filter((v) => !v.done);
    for (const v of active) this.#publish(v.table);
    if (this.#tty) {
      if (active.length === 0 && !this.#lineShown) return;
      const line = active.map((v) => `${v.table} ${pct(v)} ${v.rows.toLocaleString('en-US')} rows ${Math.round(v.rowsPerSecond).toLocaleString('en-US')}/s ETA ${eta(v.etaSeconds)}`).join(' | ');
      process.stderr.write(`\r\x1b[2Ksnapshot ${this.#source}: ${line === '' ? 'done' : line}${line === '' ? '\n' : ''}`);
      this.#lineShown = line !== '';
      return;
    }
    for (const v of active) {
      this.#log.info('snapshot progress', { table: v.table, rows: v.rows, estimatedRows: v.estimatedRows, rowsPerSecond: Math.round(v.rowsPerSecond), etaSeconds: Number.isFinite(v.etaSeconds) ? Math.round(v.etaSeconds) : null, chunks: `${v.chunksDone}/${v.chunksTotal}` });
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#tty && this.#lineShown) process.stderr.write('\n');
  }

  #publish(table: string): void {
    const v = this.view(table);
    if (v === undefined) return;
    const m = this.#metrics;
    const l = { source: this.#source, table };
    m.set('hydrant_snapshot_rows_estimated', 'Estimated rows of the table being snapshotted.', l, v.estimatedRows);
    m.set('hydrant_snapshot_rows_per_second', 'Snapshot read rate of the table since its load started.', l, v.rowsPerSecond);
    m.set('hydrant_snapshot_eta_seconds', 'Estimated seconds until the table\'s snapshot completes.', l, Number.isFinite(v.etaSeconds) ? v.etaSeconds : -1);
    m.set('hydrant_snapshot_chunks_done', 'Chunks of the table whose rows are durable.', l, v.chunksDone);
    m.set('hydrant_snapshot_chunks_total', 'Chunks the table was split into.', l, v.chunksTotal);
    m.set('hydrant_snapshot_rows_read_again', 'Rows read again after a restart (durable before it, in unfinished chunks).', l, v.rowsReadAgain);
  }
}

function pct(v: TableProgressView): string {
  return v.estimatedRows > 0 ? `${Math.min(100, Math.floor((v.rows / v.estimatedRows) * 100))}%` : `${v.chunksDone}/${v.chunksTotal}`;
}

function eta(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${Math.floor(s % 60)}s` : `${Math.ceil(s)}s`;
}
