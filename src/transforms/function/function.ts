/**
 * `function`: runs a user's TypeScript or JavaScript module with the Firehose transformation
 * contract (see `firehose.ts`) on worker threads: batches of `batch_size` records, at most
 * `concurrency` invocations at once, a timeout that terminates a stuck worker, and retries.
 * Records the function marks ProcessingFailed, and every record of an invocation that still
 * fails after its retries, are returned as failed (the runner writes them under
 * `errors/<delivery or source>/processing-failed/`, naming it, with attempts, reason and timestamps).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { ComponentDescriptor } from '../../core/component.ts';
import { ConfigError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import { duration } from '../../config/units.ts';
import type { FailedItem, Transform, TransformItem, TransformResult } from '../transform.ts';
import { ContractViolation, parseFirehoseResponse, toFirehoseEvent } from './firehose.ts';
import { FunctionLoadError, InvocationError, WorkerPool } from './worker-pool.ts';

export const functionConfig = z
  .strictObject({
    module: z.string().min(1).describe('Path of the module (.ts, .mts, .js, .mjs), relative to the working directory'),
    export: z.string().min(1).default('handler').describe('Exported function to call (`handler`, or `default` for a default export)'),
    concurrency: z.number().int().min(1).max(64).default(2).describe('Most invocations running at once (one worker thread each)'),
    batch_size: z.number().int().min(1).default(500).describe('Most records per invocation'),
    timeout: duration({ min: 1 }).prefault('60s').describe('Longest an invocation may run; then its worker is terminated and the invocation retried'),
    retries: z.number().int().min(0).max(20).default(3).describe('Retries of a failed invocation (thrown error, timeout, malformed response) before its records go to processing-failed'),
    retry_backoff: duration().prefault('200ms').describe('Wait before the first retry; doubles on each further retry'),
  })
  .describe('Run a user function with the Firehose data-transformation contract');
export type FunctionConfig = z.output<typeof functionConfig>;

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** Options besides the config. */
export interface FunctionTransformOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Runs a user function over batches. */
export class FunctionTransform implements Transform {
  /** The output columns depend on the values (see `Transform.columnsFromValues`). */
  readonly columnsFromValues = true;
  readonly #c: FunctionConfig;
  readonly #o: FunctionTransformOptions;
  readonly #pool: WorkerPool;

  /** Use {@link FunctionTransform.start}, which also loads the module once to report errors early. */
  private constructor(config: FunctionConfig, options: FunctionTransformOptions, pool: WorkerPool) {
    this.#c = config;
    this.#o = options;
    this.#pool = pool;
  }

  /** Resolves the module, starts one worker and checks that the module loads. */
  static async start(config: FunctionConfig, options: FunctionTransformOptions): Promise<FunctionTransform> {
    const path = isAbsolute(config.module) ? config.module : resolve(process.cwd(), config.module);
    const where = [{ file: '(pipeline)', line: undefined, path: `transforms.${options.name}.module` }] as const;
    if (!existsSync(path)) throw new ConfigError([{ ...where[0], message: `function module ${path} does not exist` }]);
    const tsxApi = TS_EXTENSIONS.has(extname(path)) ? import.meta.resolve('tsx/esm/api') : null;
    const labels = { transform: options.name };
    const pool = new WorkerPool({
      moduleUrl: pathToFileURL(path).href,
      exportName: config.export,
      size: config.concurrency,
      tsxApi,
      onTimeout: () => options.metrics.inc('hydrant_function_timeouts_total', 'Function invocations stopped by terminating their worker', labels),
    });
    try {
      await pool.warmUp();
    } catch (err) {
      await pool.close();
      if (err instanceof FunctionLoadError) throw new ConfigError([{ ...where[0], message: err.message }]);
      throw err;
    }
    return new FunctionTransform(config, options, pool);
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    const chunks: TransformItem[][] = [];
    for (let i = 0; i < items.length; i += this.#c.batch_size) chunks.push(items.slice(i, i + this.#c.batch_size));
    const results = await Promise.all(chunks.map((c) => this.#runChunk(c)));
    return { items: results.flatMap((r) => r.items), failed: results.flatMap((r) => r.failed) };
  }

  async #runChunk(items: TransformItem[]): Promise<TransformResult> {
    const labels = { transform: this.#o.name };
    const maxAttempts = this.#c.retries + 1;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const invocationId = randomUUID();
      this.#o.metrics.inc('hydrant_function_invocations_total', 'Function invocations', labels);
      try {
        const response = await this.#pool.invoke(toFirehoseEvent(invocationId, items), this.#c.timeout);
        const outcomes = parseFirehoseResponse(items, response);
        const ok: TransformItem[] = [];
        const failed: FailedItem[] = [];
        outcomes.forEach((o, i) => {
          if (o.kind === 'ok') ok.push(o.item);
          else if (o.kind === 'failed') failed.push({ item: items[i] as TransformItem, reason: `function ${this.#o.name}: ${o.reason}`, attempts: attempt });
        });
        if (failed.length > 0) this.#o.metrics.inc('hydrant_function_processing_failed_total', 'Records a function marked ProcessingFailed', labels, failed.length);
        return { items: ok, failed };
      } catch (err) {
        if (!(err instanceof InvocationError || err instanceof ContractViolation || err instanceof FunctionLoadError)) throw err;
        lastError = err.message;
        this.#o.metrics.inc('hydrant_function_invocation_errors_total', 'Function invocations that failed (error, timeout, contract violation)', labels);
        this.#o.logger.warn('function invocation failed', { transform: this.#o.name, attempt, of: maxAttempts, records: items.length, error: err.message });
        if (attempt < maxAttempts) await sleep(this.#c.retry_backoff * 2 ** (attempt - 1));
      }
    }
    const reason = `function ${this.#o.name}: invocation failed after ${maxAttempts} attempt(s): ${lastError}`;
    return { items: [], failed: items.map((item) => ({ item, reason, attempts: maxAttempts })) };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** `type: function`. */
export const functionTransform: ComponentDescriptor<typeof functionConfig, Transform> = {
  kind: 'function',
  summary: 'Run a TypeScript or JavaScript function with the Firehose transformation contract on worker threads (concurrency, timeout, retries)',
  config: functionConfig,
  create: (config, ctx) => FunctionTransform.start(config, { name: ctx.name, logger: ctx.logger, metrics: ctx.metrics }),
};
