/**
 * `generator` source: a realistic, deterministic e-commerce workload (customers, products,
 * orders, order_items) for demos, tests and benchmarks. Positions are zero-padded event
 * numbers, so string order is event order; resuming after position P regenerates the workload
 * from the seed and skips the first P events.
 */
import { z } from 'zod';
import type { ComponentDescriptor } from '../../core/component.ts';
import type { ChangeEvent } from '../../core/change-event.ts';
import { HydrantError } from '../../core/errors.ts';
import { sleep } from '../../core/sleep.ts';
import type { Source, SourceBatch } from '../source.ts';
import { generatorSchemas } from './tables.ts';
import { formatPosition, POSITION_WIDTH, Workload } from './workload.ts';

const config = z.strictObject({
  seed: z.number().int().default(1).describe('Seed of the workload; equal seeds give identical events.'),
  count: z.number().int().min(0).default(10_000).describe('Total number of events to produce; 0 = unlimited.'),
  rate: z.number().min(0).default(0).describe('Events per second; 0 = as fast as the pipeline takes them.'),
  batch_size: z.number().int().min(1).max(100_000).default(500).describe('Most events per batch.'),
  database: z.string().min(1).default('shop').describe('Database name the events report.'),
  schema: z.string().min(1).default('public').describe('Schema name the events report.'),
  start_time: z.iso.datetime({ offset: true }).default('2024-01-01T00:00:00Z').describe('Commit time of the first transaction (ISO 8601); later ones advance 0-2 s each.'),
});

/** The generator's config. */
export type GeneratorConfig = z.output<typeof config>;

/** A stored position is not one this generator wrote. */
export class GeneratorPositionError extends HydrantError {
  constructor(source: string, position: string) {
    super('SOURCE_POSITION_INVALID', `generator source "${source}": cannot resume from position ${JSON.stringify(position.slice(0, 40))}: expected ${POSITION_WIDTH} digits. Was the state written by another source kind? Reset the source position or use a new data_dir.`);
  }
}

/** How long `next()` waits, once the workload is exhausted, before reporting an empty batch. */
const IDLE_WAIT_MS = 200;

/** The generator as a {@link Source}. */
export class GeneratorSource implements Source {
  readonly #name: string;
  readonly #config: GeneratorConfig;
  #workload: Workload | undefined;
  #schemasSent = false;
  #startedAt = 0;
  #startCount = 0;
  #emptyReturned = false;
  #acked: string | null = null;

  constructor(name: string, cfg: GeneratorConfig) {
    this.#name = name;
    this.#config = cfg;
  }

  /** Last acknowledged position (for tests and status). */
  get acked(): string | null {
    return this.#acked;
  }

  async start(position: string | null): Promise<void> {
    let skip = 0;
    if (position !== null) {
      if (!/^\d+$/.test(position) || position.length !== POSITION_WIDTH) throw new GeneratorPositionError(this.#name, position);
      skip = Number(position);
    }
    const w = new Workload(this.#config.seed, { source: this.#name, database: this.#config.database, schema: this.#config.schema, startMillis: Date.parse(this.#config.start_time) });
    for (let i = 0; i < skip; i++) w.next();
    this.#workload = w;
    this.#schemasSent = false;
    this.#emptyReturned = false;
    this.#startedAt = Date.now();
    this.#startCount = skip;
  }

  async next(signal: AbortSignal): Promise<SourceBatch> {
    const w = this.#workload;
    if (w === undefined) throw new HydrantError('SOURCE_NOT_STARTED', `generator source "${this.#name}": next() before start(); the runner must start the source first.`);
    const remaining = this.#config.count === 0 ? Infinity : this.#config.count - w.produced;
    let n = Math.min(this.#config.batch_size, remaining);
    let paced = false;
    if (this.#config.rate > 0 && n > 0) {
      const allowed = () => Math.floor(((Date.now() - this.#startedAt) / 1000) * this.#config.rate) - (w.produced - this.#startCount);
      while (allowed() <= 0 && !signal.aborted) await sleep(Math.max(1, Math.min(1000, Math.ceil(1000 / this.#config.rate))), signal);
      const a = allowed();
      paced = a <= n;
      n = Math.max(0, Math.min(n, a));
    }
    if (n <= 0) {
      // Exhausted: report the first empty batch at once (so --until-caught-up ends promptly),
      // then wait a little between empty batches so an idle runner does not spin.
      if (this.#emptyReturned) await sleep(IDLE_WAIT_MS, signal);
      this.#emptyReturned = true;
      return { events: [], position: formatPosition(w.produced), caughtUp: true };
    }
    const events: ChangeEvent[] = [];
    for (let i = 0; i < n; i++) events.push(w.next());
    const batch: SourceBatch = {
      events,
      position: formatPosition(w.produced),
      // Caught up: the workload is exhausted, or the rate allows nothing more right now.
      caughtUp: (w.produced >= this.#config.count && this.#config.count > 0) || paced,
      ...(this.#schemasSent ? {} : { schemas: generatorSchemas(this.#name, this.#config.database, this.#config.schema) }),
    };
    this.#schemasSent = true;
    return batch;
  }

  async ack(position: string): Promise<void> {
    this.#acked = position;
  }

  async close(): Promise<void> {
    this.#workload = undefined;
  }
}

/** Descriptor of the `generator` source. */
export const generatorSource: ComponentDescriptor<typeof config, Source> = {
  kind: 'generator',
  summary: 'Deterministic e-commerce workload (customers, products, orders, order_items) from a seed, by count or rate.',
  config,
  create: (cfg, ctx) => new GeneratorSource(ctx.name, cfg),
};
