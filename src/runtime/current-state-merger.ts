/**
 * {@link CurrentStateMerger}: keeps the lake's current-state tables merged while a pipeline
 * runs (the `current_state:` section). It runs the {@link MergeJob} of src/lake/current/ on the
 * runner's own state store and lake — `hydrant merge` cannot, since the running pipeline holds
 * the data directory's single-writer lock.
 *
 * A merge never stops capture: a table whose merge failed is logged and retried with its own
 * back-off (1 s doubling to 5 min, with jitter) — sooner than the interval at first, later
 * while it keeps failing — and the other tables go on merging every interval; a success puts
 * the table back on the interval. Each table's merge commits atomically
 * (one conditional state transaction), so stopping between tables — or a kill at any point —
 * leaves every table at a consistent version; the next round continues from there.
 */
import { join } from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { tableId } from '../core/schema.ts';
import { MergeEngine } from '../lake/current/merge-engine.ts';
import { MergeJob, type TableMergeReport } from '../lake/current/merge-job.ts';
import type { ObjectStore } from '../lake/object-store.ts';
import type { StateStore } from '../state/state-store.ts';
import { sleep } from './backoff.ts';
import type { CurrentStateConfig } from './current-state-config.ts';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5 * 60_000;

/** What the merger needs from the runner. */
export interface MergerDeps {
  readonly state: StateStore;
  readonly lake: ObjectStore;
  readonly dataDir: string;
  readonly config: CurrentStateConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** true when a report says the table's merge failed (a table skipped for lack of a key did not). */
export function mergeFailed(r: TableMergeReport): boolean {
  return r.problem !== undefined && !r.problem.startsWith('skipped:');
}

/** Runs merge rounds on an interval until stopped; one more with {@link CurrentStateMerger.final}. */
export class CurrentStateMerger {
  readonly #engine: MergeEngine;
  readonly #job: MergeJob;
  readonly #config: CurrentStateConfig;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #closed = false;
  /** Tables (or `*`, the listing itself) whose last merge failed: how often in a row, and when to retry. */
  readonly #failing = new Map<string, { failures: number; retryAt: number }>();

  private constructor(engine: MergeEngine, job: MergeJob, deps: MergerDeps) {
    this.#engine = engine;
    this.#job = job;
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#metrics = deps.metrics;
  }

  /** Opens the merge engine (an in-process DuckDB) on the runner's stores. */
  static async open(deps: MergerDeps): Promise<CurrentStateMerger> {
    const tmpDir = join(deps.dataDir, 'tmp', 'merge');
    const engine = await MergeEngine.open({ state: deps.state, lake: deps.lake, tmpDir, buckets: deps.config.buckets, graceMs: deps.config.grace, metrics: deps.metrics, memoryLimitMiB: Math.floor(deps.config.memory_limit / 2 ** 20) });
    const job = new MergeJob({ state: deps.state, lake: deps.lake, engine, tmpDir, logger: deps.logger });
    return new CurrentStateMerger(engine, job, deps);
  }

  /** Starts merging every `interval` in the background (the first round at once). */
  start(): void {
    this.#loop ??= this.#run(this.#abort.signal);
  }

  /**
   * Stops the background rounds and waits for the one in progress to finish its current
   * table (the others wait for the final merge or the next run). Idempotent.
   */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  /**
   * One last round after everything was delivered (`--until-caught-up`), so the run leaves
   * every table up to date. A failing round is retried (three attempts in all, with back-off);
   * the reports of the last attempt are returned (check them with {@link mergeFailed}).
   * `signal` (a stop request) ends it between tables, like a stop of the interval rounds.
   */
  async final(signal: AbortSignal): Promise<TableMergeReport[]> {
    let delay = RETRY_FIRST_MS;
    for (let attempt = 1; ; attempt++) {
      const reports = await this.#round(signal);
      if (!reports.some(mergeFailed) || attempt === 3 || signal.aborted) return reports;
      this.#logger.warn(`final merge: ${reports.filter(mergeFailed).length} table(s) failed; retrying in ${delay} ms`, { attempt });
      await sleep(delay, signal);
      delay *= 2;
    }
  }

  /** Stops and closes the merge engine (idempotent). */
  async close(): Promise<void> {
    await this.stop();
    if (this.#closed) return;
    this.#closed = true;
    await this.#engine.close();
  }

  async #run(signal: AbortSignal): Promise<void> {
    let next = Date.now();
    while (!signal.aborted) {
      await sleep(next - Date.now(), signal);
      if (signal.aborted) break;
      const reports = await this.#round(signal, true);
      for (const r of reports) {
        if (!mergeFailed(r)) {
          this.#failing.delete(r.table);
          continue;
        }
        const failures = (this.#failing.get(r.table)?.failures ?? 0) + 1;
        const wait = Math.round(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (failures - 1)) * (0.5 + Math.random() / 2));
        this.#failing.set(r.table, { failures, retryAt: Date.now() + wait });
        this.#logger.warn(`merge of ${r.table} failed ${failures} time(s) in a row; retrying it in ${wait} ms (capture goes on)`, { table: r.table, failures });
      }
      // The next round comes after the interval, or sooner when a failed table's retry is due
      // (never at once: an entry whose table vanished from the catalog must not spin the loop).
      next = Math.max(Date.now() + 100, Math.min(Date.now() + this.#config.interval, ...[...this.#failing.values()].map((f) => f.retryAt)));
    }
  }

  /**
   * Merges every table, one at a time so that a stop takes effect between tables. With
   * `backoff`, a table whose retry is not due yet is left out. Never throws: an error (also
   * one that is not a HydrantError) becomes a failed report.
   */
  async #round(signal: AbortSignal | undefined, backoff = false): Promise<TableMergeReport[]> {
    const reports: TableMergeReport[] = [];
    const due = (table: string): boolean => !backoff || (this.#failing.get(table)?.retryAt ?? 0) <= Date.now();
    let tables: Awaited<ReturnType<MergeJob['tables']>> = [];
    if (due('*')) {
      try {
        tables = await this.#job.tables();
        this.#failing.delete('*');
      } catch (err) {
        this.#logger.error('merge round failed: could not list the tables to merge', { error: (err as Error).message });
        reports.push({ table: '*', objects: 0, rebuilt: false, result: undefined, problem: (err as Error).message });
      }
    }
    for (const t of tables) {
      if (signal?.aborted === true) break;
      const id = tableId(t);
      if (!due(id)) continue;
      try {
        for (const r of await this.#job.mergeAll([id])) reports.push(r);
      } catch (err) {
        this.#logger.error('merge of a table failed; the other tables are merged', { table: id, error: (err as Error).message });
        reports.push({ table: id, objects: 0, rebuilt: false, result: undefined, problem: (err as Error).message });
      }
    }
    for (const r of reports) {
      if (r.result?.committed === true) this.#logger.info('current-state table merged', { table: r.table, version: r.result.version, rows: r.result.rows, changes: r.result.stats.applied, objects: r.objects, rebuilt: r.rebuilt });
    }
    const failed = reports.some(mergeFailed);
    this.#metrics.inc('hydrant_merge_rounds_total', 'Merge rounds run inside the pipeline, by outcome (failed = at least one table failed).', { outcome: failed ? 'failed' : 'ok' });
    return reports;
  }
}
