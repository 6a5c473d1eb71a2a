/**
 * `hydrant run FILE [--until-caught-up] [--metrics-port N]`: runs a pipeline until SIGINT /
 * SIGTERM (graceful: finish batches in flight, flush deliveries, checkpoint, exit 0) or, with
 * `--until-caught-up`, until every source is caught up and every delivery has flushed.
 * A second signal exits at once (nothing acknowledged is lost: see docs/runtime.md).
 * With `current_state.enabled`, `--until-caught-up` ends with a final merge and prints one line
 * per current-state table; a table whose final merge failed makes the exit code 1.
 */
import type { Command } from '../command.ts';
import { HydrantError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { PipelineRunner, type RunSummary } from '../../runtime/pipeline-runner.ts';
import { mergeFailed } from '../../runtime/current-state-merger.ts';
import type { TableMergeReport } from '../../lake/current/merge-job.ts';
import { loadRuntimeSpec } from '../../runtime/load-runtime-spec.ts';
import type { RuntimeSpec } from '../../runtime/runtime-spec.ts';
import { startMetricsServer } from '../../server/metrics-server.ts';

/** Bad command-line arguments. */
export class UsageError extends HydrantError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Parsed `run` arguments. */
export interface RunArgs {
  readonly file: string;
  readonly untilCaughtUp: boolean;
  readonly metricsPort: number | undefined;
}

/** Parses `run` arguments. */
export function parseRunArgs(args: readonly string[]): RunArgs {
  let file: string | undefined;
  let untilCaughtUp = false;
  let metricsPort: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--until-caught-up') untilCaughtUp = true;
    else if (a === '--metrics-port' || a.startsWith('--metrics-port=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--metrics-port needs a port number 0-65535, found ${JSON.stringify(v ?? '')}`);
      metricsPort = n;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}; usage: hydrant run FILE [--until-caught-up] [--metrics-port N]`);
    else if (file === undefined) file = a;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)}; usage: hydrant run FILE [--until-caught-up] [--metrics-port N]`);
  }
  if (file === undefined) throw new UsageError('missing pipeline file; usage: hydrant run FILE [--until-caught-up] [--metrics-port N]');
  return { file, untilCaughtUp, metricsPort };
}

/**
 * Runs a spec with signal handling and the optional metrics endpoint; shared by `run` and
 * `demo`. Resolves with the summary once the runner stopped and everything is closed.
 */
export async function runWithSignals(spec: RuntimeSpec, options: { readonly untilCaughtUp: boolean; readonly metricsPort?: number | undefined; readonly logger?: Logger }): Promise<{ summary: RunSummary; runner: PipelineRunner }> {
  const runner = await PipelineRunner.open(spec, { untilCaughtUp: options.untilCaughtUp, ...(options.logger === undefined ? {} : { logger: options.logger }) });
  const server = options.metricsPort === undefined ? undefined : await startMetricsServer(runner.metrics, { port: options.metricsPort, collect: () => runner.collectMetrics() });
  if (server !== undefined) runner.logger.info('metrics endpoint listening', { url: `http://127.0.0.1:${server.port}/metrics` });
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      runner.logger.warn(`second ${sig}: exiting without flushing; the next run resumes from the last checkpoint`);
      process.exit(130);
    }
    runner.logger.info(`${sig} received: stopping gracefully (send again to exit at once)`);
    runner.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runner.run();
    return { summary, runner };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.close();
  }
}

/** One line per table of the final merge. */
export function describeMerge(r: TableMergeReport): string {
  // The first line says what failed (DuckDB appends the SQL around the error on further lines; the log has it all).
  if (r.problem !== undefined) return `  ${r.table}: ${r.problem.split('\n')[0] ?? ''}`;
  if (r.result === undefined) return `  ${r.table}: up to date`;
  return `  ${r.table}: version ${r.result.version}, ${r.result.rows} rows (${r.result.stats.applied} changes merged${r.rebuilt ? ', rebuilt from history' : ''})`;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a pipeline until stopped (or --until-caught-up); --metrics-port serves /metrics.',
  usage: 'hydrant run FILE [--until-caught-up] [--metrics-port N]',
  async run(args) {
    const a = parseRunArgs(args);
    const spec = await loadRuntimeSpec(a.file);
    const { summary } = await runWithSignals(spec, { untilCaughtUp: a.untilCaughtUp, metricsPort: a.metricsPort });
    process.stdout.write(`hydrant run: ${summary.reason}; positions ${JSON.stringify(summary.positions)}\n`);
    if (summary.merged === undefined) return 0;
    process.stdout.write(`current-state tables:\n${summary.merged.map(describeMerge).join('\n') || '  (no change objects in the lake catalog)'}\n`);
    const failed = summary.merged.filter(mergeFailed);
    if (failed.length === 0) return 0;
    process.stderr.write(`hydrant run: capture and delivery finished, but the final merge of ${failed.map((r) => r.table).join(', ')} failed (see above); run \`hydrant merge ${a.file}\` to retry it\n`);
    return 1;
  },
};
