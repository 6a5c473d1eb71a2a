/**
 * `hydrant merge FILE [TABLE...] [--interval S] [--buckets N] [--grace S] [--compact]`: brings
 * the current-state tables of a pipeline's lake up to date with the change objects in its
 * catalog (all tables, or the named ones: `source.schema.table`, `schema.table` or `table`).
 * With `--interval` it keeps merging every S seconds until SIGINT/SIGTERM; with `--compact` it
 * first compacts small change objects (docs/current-state.md).
 *
 * Uses the pipeline's embedded state store, so it runs while `hydrant run` is not running on
 * the same data directory (the store's lock says so otherwise).
 */
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { HydrantError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import { Metrics } from '../../core/metrics.ts';
import { loadRuntimeSpec } from '../../runtime/load-runtime-spec.ts';
import { EmbeddedStateStore } from '../../state/embedded/embedded-state-store.ts';
import { openObjectStore } from '../../lake/lake-config.ts';
import { MergeEngine } from '../../lake/current/merge-engine.ts';
import { MergeJob, type TableMergeReport } from '../../lake/current/merge-job.ts';
import { compactChangeObjects } from '../../lake/current/compaction.ts';
import { startMetricsServer } from '../../server/metrics-server.ts';

const USAGE = 'hydrant merge FILE [TABLE...] [--interval SECONDS] [--buckets N] [--grace SECONDS] [--compact [--target-mib N]] [--memory-mib N] [--metrics-port N]';

/** Parsed `merge` arguments. */
export interface MergeArgs {
  readonly file: string;
  readonly tables: readonly string[];
  readonly intervalS: number | undefined;
  readonly buckets: number;
  readonly graceS: number;
  readonly compact: boolean;
  readonly targetMiB: number;
  readonly memoryMiB: number;
  readonly metricsPort: number | undefined;
}

function num(flag: string, v: string | undefined, min: number, max: number, integer: boolean): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new HydrantError('USAGE', `${flag} needs ${integer ? 'an integer' : 'a number'} ${min}..${max}, found ${JSON.stringify(v ?? '')}; usage: ${USAGE}`);
  }
  return n;
}

/** Parses `merge` arguments. */
export function parseMergeArgs(args: readonly string[]): MergeArgs {
  let file: string | undefined;
  const tables: string[] = [];
  let intervalS: number | undefined;
  let buckets = 16;
  let graceS = 600;
  let compact = false;
  let targetMiB = 128;
  let memoryMiB = 1024;
  let metricsPort: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    if (flag === '--interval') intervalS = num(flag, value(), 0.1, 86_400, false);
    else if (flag === '--buckets') buckets = num(flag, value(), 1, 4096, true);
    else if (flag === '--grace') graceS = num(flag, value(), 0, 7 * 86_400, false);
    else if (a === '--compact') compact = true;
    else if (flag === '--target-mib') targetMiB = num(flag, value(), 1, 5120, false);
    else if (flag === '--memory-mib') memoryMiB = num(flag, value(), 64, 1024 * 1024, true);
    else if (flag === '--metrics-port') metricsPort = num(flag, value(), 0, 65535, true);
    else if (a.startsWith('-')) throw new HydrantError('USAGE', `unknown option ${a}; usage: ${USAGE}`);
    else if (file === undefined) file = a;
    else tables.push(a);
  }
  if (file === undefined) throw new HydrantError('USAGE', `missing pipeline file; usage: ${USAGE}`);
  return { file, tables, intervalS, buckets, graceS, compact, targetMiB, memoryMiB, metricsPort };
}

function line(r: TableMergeReport): string {
  if (r.problem !== undefined) return `${r.table}: ${r.problem}`;
  if (r.result === undefined) return `${r.table}: up to date`;
  const s = r.result.stats;
  return `${r.table}: version ${r.result.version}, ${r.result.rows} rows; ${s.applied} changes from ${r.objects} objects${r.rebuilt ? ' (rebuilt from history: a change object arrived late)' : ''}, ${s.skipped} already merged, ${r.result.bucketsRewritten} buckets rewritten, ${r.result.filesKept} files kept${r.result.lagSeconds === null ? '' : `, lag ${r.result.lagSeconds.toFixed(1)} s`}`;
}

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'Merge change objects into current-state tables (once, or every --interval seconds).',
  usage: USAGE,
  async run(args) {
    const a = parseMergeArgs(args);
    const spec = await loadRuntimeSpec(a.file);
    const logger = createLogger({ fields: { pipeline: spec.name, command: 'merge' } });
    const state = await EmbeddedStateStore.open({ dataDir: spec.dataDir, logger });
    const lake = openObjectStore(spec.lake, spec.dataDir);
    const metrics = new Metrics();
    const tmpDir = join(spec.dataDir, 'tmp', 'merge');
    const engine = await MergeEngine.open({ state, lake, tmpDir, buckets: a.buckets, graceMs: a.graceS * 1000, metrics, memoryLimitMiB: a.memoryMiB });
    const job = new MergeJob({ state, lake, engine, tmpDir, logger });
    const compact = async (): Promise<void> => {
      if (!a.compact) return;
      const c = await compactChangeObjects({ state, lake, conn: engine.connection, tmpDir }, { targetBytes: a.targetMiB * 1024 * 1024, graceMs: a.graceS * 1000, metrics });
      if (c.compacted > 0 || c.deleted > 0) process.stdout.write(`compaction: ${c.replaced} small change objects into ${c.compacted}, ${c.deleted} replaced objects deleted\n`);
    };
    try {
      if (a.intervalS === undefined) {
        await compact();
        const reports = await job.mergeAll(a.tables);
        for (const r of reports) process.stdout.write(line(r) + '\n');
        // A table that failed (not one skipped for lack of a key) makes the run fail.
        return reports.some((r) => r.problem !== undefined && !r.problem.startsWith('skipped:')) ? 1 : 0;
      }
      // Merge lag and friends for Prometheus while merging on an interval.
      const server = a.metricsPort === undefined ? undefined : await startMetricsServer(metrics, { port: a.metricsPort });
      if (server !== undefined) logger.info('metrics endpoint listening', { url: `http://127.0.0.1:${server.port}/metrics` });
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        while (!ac.signal.aborted) {
          await compact();
          for (const r of await job.mergeAll(a.tables)) if (r.result?.committed === true || (r.problem !== undefined && !r.problem.startsWith('skipped:'))) process.stdout.write(line(r) + '\n');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, a.intervalS! * 1000);
            ac.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
          });
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await server?.close();
      }
      return 0;
    } finally {
      await engine.close();
      await lake.close();
      await state.close();
    }
  },
};
