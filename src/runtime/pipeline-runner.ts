/**
 * {@link PipelineRunner}: builds a pipeline's components and runs
 * sources → source-edge transforms → stream → per-shard consumer loops → delivery-edge
 * transforms → deliveries, until stopped or (with `untilCaughtUp`) until everything is read.
 *
 * Bounded memory: each source has at most one batch in flight (pull-based, see
 * `source-loop.ts`); each (delivery, shard) loop holds at most one read batch
 * (`readLimits`, default 1,000 records / 4 MiB) and waits for `write()` before reading again;
 * deliveries bound their own buffers.
 *
 * Shutdown (`stop()`, SIGINT/SIGTERM in the CLI): sources stop being polled, the batch in flight
 * is finished (appended, position committed, acked); then the consumer loops drain their shards
 * (nothing new arrives once the sources stopped), deliveries flush (their checkpoints commit)
 * and everything closes. So after a graceful stop every appended record is delivered.
 * `untilCaughtUp`: each source stops after reporting caughtUp with an empty batch; once all
 * have, each consumer loop reads its shard to the end, then deliveries flush.
 *
 * With `current_state.enabled`, a {@link CurrentStateMerger} merges the lake's change objects
 * into current-state tables on an interval while all this runs, on the same state store; it
 * stops once the deliveries are done, and `untilCaughtUp` ends with one final merge so the
 * finished run leaves every table up to date.
 */
import { mkdir } from 'node:fs/promises';
import type { ComponentContext } from '../core/component.ts';
import { ConfigError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { Metrics } from '../core/metrics.ts';
import type { Delivery } from '../delivery/delivery.ts';
import { openObjectStore } from '../lake/lake-config.ts';
import type { ObjectStore } from '../lake/object-store.ts';
import { EmbeddedStateStore } from '../state/embedded/embedded-state-store.ts';
import type { StateStore } from '../state/state-store.ts';
import { EmbeddedStreamLog } from '../stream/embedded/embedded-stream-log.ts';
import type { ReadLimits, StreamLog } from '../stream/stream-log.ts';
import type { RetentionPolicy } from '../stream/embedded/retention.ts';
import { consumerLag, recordLagMetrics } from '../stream/consumer-lag.ts';
import { buildComponents, type BuiltPipeline } from './build.ts';
import { CurrentStateMerger } from './current-state-merger.ts';
import type { TableMergeReport } from '../lake/current/merge-job.ts';
import { RunnerCommitter, ShardLoop } from './delivery-loop.ts';
import { ErrorSink } from './error-sink.ts';
import type { RuntimeSpec } from './runtime-spec.ts';
import { runShardScheduler } from './shard-scheduler.ts';
import { SourceLoop } from './source-loop.ts';
import { SourceStateView } from './source-state-view.ts';
import type { NamedTransform } from './transform-chain.ts';

/** Runner options. */
export interface RunnerOptions {
  /** Finish once every source is caught up and every delivery has read and flushed everything. */
  readonly untilCaughtUp?: boolean;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Bounds of one consumer read (default 1,000 records, 4 MiB). */
  readonly readLimits?: ReadLimits;
  /** Use these instead of opening the embedded state store / stream log / lake from the spec. */
  readonly state?: StateStore;
  readonly log?: StreamLog;
  readonly lake?: ObjectStore;
}

/** What a run did. */
export interface RunSummary {
  readonly reason: 'caught-up' | 'stopped';
  /** Last committed position per source. */
  readonly positions: Readonly<Record<string, string | null>>;
  /** The final merge's report per table (`untilCaughtUp` with `current_state.enabled`). */
  readonly merged?: readonly TableMergeReport[];
}

/** Runs one pipeline. Create with {@link PipelineRunner.open}, then `run()`. */
export class PipelineRunner {
  readonly spec: RuntimeSpec;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly state: StateStore;
  readonly log: StreamLog;
  readonly lake: ObjectStore;
  readonly #owned: { state: boolean; log: boolean; lake: boolean };
  readonly #options: RunnerOptions;
  readonly #built: BuiltPipeline;
  readonly #merger: CurrentStateMerger | undefined;
  readonly #sourceAbort = new AbortController();
  readonly #deliveryAbort = new AbortController();
  /** Aborted once the sources are done, to wake consumer loops waiting for records. */
  readonly #sourcesDoneSignal = new AbortController();
  readonly #sourceLoops = new Map<string, SourceLoop>();
  #sourcesDone = false;
  #stopping = false;
  #failure: unknown;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(spec: RuntimeSpec, options: RunnerOptions, parts: { state: StateStore; log: StreamLog; lake: ObjectStore; built: BuiltPipeline; merger: CurrentStateMerger | undefined; logger: Logger; metrics: Metrics; owned: { state: boolean; log: boolean; lake: boolean } }) {
    this.spec = spec;
    this.#options = options;
    this.state = parts.state;
    this.log = parts.log;
    this.lake = parts.lake;
    this.#built = parts.built;
    this.#merger = parts.merger;
    this.logger = parts.logger;
    this.metrics = parts.metrics;
    this.#owned = parts.owned;
  }

  /** Opens the stores (embedded defaults under the data dir), creates the streams and builds every component. */
  static async open(spec: RuntimeSpec, options: RunnerOptions = {}): Promise<PipelineRunner> {
    const logger = options.logger ?? createLogger({ fields: { pipeline: spec.name } });
    const metrics = options.metrics ?? new Metrics();
    await mkdir(spec.dataDir, { recursive: true });
    const compact = spec.state?.compact_after;
    const state = options.state ?? (await EmbeddedStateStore.open({ dataDir: spec.dataDir, logger, ...(compact === undefined ? {} : { compactAfterBytes: compact }) }));
    const owned = { state: options.state === undefined, log: options.log === undefined, lake: options.lake === undefined };
    let log: StreamLog | undefined;
    let lake: ObjectStore | undefined;
    let merger: CurrentStateMerger | undefined;
    try {
      const retention: Record<string, Partial<RetentionPolicy>> = {};
      for (const [name, s] of Object.entries(spec.streams)) {
        retention[name] = {
          ...(s.retention_age === undefined ? {} : { maxAgeMs: s.retention_age }),
          ...(s.retention_bytes === undefined ? {} : { maxBytes: s.retention_bytes }),
          ...(s.retention_policy === undefined ? {} : { unread: s.retention_policy }),
        };
      }
      log = options.log ?? new EmbeddedStreamLog({ dataDir: spec.dataDir, logger, metrics, state, streams: retention });
      lake = options.lake ?? openObjectStore(spec.lake, spec.dataDir);
      for (const [name, s] of Object.entries(spec.streams)) {
        const desc = await log.ensureStream(name, { shards: s.shards });
        const open = desc.shards.filter((x) => !x.closed).length;
        // An existing stream keeps its layout; changing it is an explicit reshard.
        if (open !== s.shards) logger.warn(`stream ${name} has ${open} open shards but the pipeline says ${s.shards}; it keeps ${open}. Reshard it explicitly to change the count.`, { stream: name });
      }
      const ctx = { pipeline: spec.name, dataDir: spec.dataDir, state, log, lake, metrics };
      // Before the components: a merge engine that cannot open leaves no source connection behind.
      if (spec.currentState?.enabled === true) {
        if (!Object.values(spec.deliveries).some((d) => d.type === 'lake')) logger.warn('current_state is enabled but no delivery is of type lake, so there are no change objects to merge; add a lake delivery or disable current_state');
        merger = await CurrentStateMerger.open({ state, lake, dataDir: spec.dataDir, config: spec.currentState, logger: logger.child({ component: 'current_state' }), metrics });
      }
      // Sources read their own schema history, not the schemas mapped through their edge (source-state-view.ts).
      const sourceState = new SourceStateView(state);
      const built = await buildComponents(spec, (name, role): ComponentContext => ({ ...ctx, ...(role === 'source' ? { state: sourceState, encodedBatches: (spec.sources[name]?.transforms ?? []).length === 0 } : {}), name, logger: logger.child({ component: name }) }));
      if (merger !== undefined) {
        for (const [name, s] of Object.entries(spec.sources)) {
          const opaque = s.transforms.filter((t) => built.transforms.get(t)?.columnsFromValues === true);
          // Such edges record no table schema (edge-schemas.ts), and merging needs one.
          if (opaque.length > 0) logger.warn(`source ${name}: its edge transforms ${opaque.join(', ')} make columns from values, so its tables have no recorded schema and get no current-state table (their _changes history is complete); move them to a delivery edge to merge these tables`, { source: name });
        }
      }
      return new PipelineRunner(spec, options, { state, log, lake, built, merger, logger, metrics, owned });
    } catch (err) {
      await merger?.close().catch(() => {});
      if (owned.log) await log?.close().catch(() => {});
      if (owned.state) await state.close().catch(() => {});
      if (owned.lake) await lake?.close().catch(() => {});
      throw err;
    }
  }

  #edge(names: readonly string[]): NamedTransform[] {
    return names.map((name) => {
      const transform = this.#built.transforms.get(name);
      if (transform === undefined) throw new ConfigError([{ file: this.spec.name, line: undefined, path: 'transforms', message: `transform ${JSON.stringify(name)} is not defined` }]);
      return { name, transform };
    });
  }

  #fail(err: unknown): void {
    if (this.#failure === undefined) {
      this.#failure = err;
      this.logger.error('pipeline failed; stopping', { error: err });
    }
    this.#sourceAbort.abort();
    this.#deliveryAbort.abort();
  }

  /** Asks the run to stop gracefully (idempotent). `run()` resolves once everything is flushed. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.logger.info('stopping: finishing batches in flight, flushing deliveries');
    this.#sourceAbort.abort();
  }

  /** true once every source reported caughtUp with an empty batch. */
  get caughtUp(): boolean {
    return [...this.#sourceLoops.values()].every((l) => l.caughtUp);
  }

  /**
   * Refreshes gauges before rendering: stream-log counters, and each delivery's consumer lag
   * per shard (unread records and IteratorAge, from its committed checkpoints).
   */
  async collectMetrics(): Promise<void> {
    if (!this.#closed) {
      for (const [name, d] of Object.entries(this.spec.deliveries)) recordLagMetrics(this.metrics, d.stream, name, await consumerLag(this.log, this.state, d.stream, name));
    }
    const s = this.log.stats();
    this.metrics.set('hydrant_stream_appends', 'Append calls made durable by the stream log.', {}, s.appends);
    this.metrics.set('hydrant_stream_records_appended', 'Records appended to the stream log.', {}, s.recordsAppended);
    this.metrics.set('hydrant_stream_fsyncs', 'fsync calls made by the stream log (appends / fsyncs = group commit factor).', {}, s.fsyncs);
  }

  /** Runs until stopped, caught up (with `untilCaughtUp`), or failed (then rejects after cleanup). */
  async run(): Promise<RunSummary> {
    const spec = this.spec;
    const errors = new ErrorSink(this.lake, this.logger, this.metrics);
    const shardRuns: Array<Promise<void>> = [];
    const deliveryRuns: Array<Promise<void>> = [];
    let merged: TableMergeReport[] | undefined;
    const limits: Required<ReadLimits> = { maxRecords: this.#options.readLimits?.maxRecords ?? 1000, maxBytes: this.#options.readLimits?.maxBytes ?? 4 << 20 };
    try {
      for (const [name, d] of Object.entries(spec.deliveries)) {
        const target = this.#built.deliveries.get(name) as Delivery;
        const committer = new RunnerCommitter(this.state, d.stream, name, this.metrics);
        await target.start(committer);
        const transforms = this.#edge(d.transforms);
        const logger = this.logger.child({ component: name });
        const shards = runShardScheduler({
          log: this.log, state: this.state, stream: d.stream, consumer: name,
          // Once the sources are done (caught up, or stopped), nothing new arrives: each loop
          // reads its shard to the end and finishes, so a graceful stop delivers everything appended.
          runShard: (shardId) => new ShardLoop({ delivery: name, stream: d.stream, shardId, target, committer, transforms, state: this.state, log: this.log, errors, logger, metrics: this.metrics, limits })
            .run(this.#deliveryAbort.signal, () => this.#sourcesDone, this.#sourcesDoneSignal.signal),
        });
        shardRuns.push(shards);
        deliveryRuns.push(shards.then(async () => {
          // Flush each delivery as soon as its loops are done, unless the run failed.
          if (this.#failure === undefined) await target.flush();
        }).catch((err: unknown) => this.#fail(err)));
      }
      const sourceRuns: Array<Promise<void>> = [];
      for (const [name, s] of Object.entries(spec.sources)) {
        const loop = new SourceLoop({ name, source: this.#built.sources.get(name) as never, stream: s.stream, transforms: this.#edge(s.transforms), state: this.state, log: this.log, errors, logger: this.logger.child({ component: name }), metrics: this.metrics, untilCaughtUp: this.#options.untilCaughtUp === true });
        this.#sourceLoops.set(name, loop);
        sourceRuns.push(loop.run(this.#sourceAbort.signal).catch((err: unknown) => this.#fail(err)));
      }
      this.#merger?.start();
      this.logger.info('pipeline running', { sources: Object.keys(spec.sources), deliveries: Object.keys(spec.deliveries), untilCaughtUp: this.#options.untilCaughtUp === true });
      if (this.#options.untilCaughtUp !== true) await new Promise<void>((resolve) => (this.#sourceAbort.signal.aborted ? resolve() : this.#sourceAbort.signal.addEventListener('abort', () => resolve(), { once: true })));
      await Promise.all(sourceRuns);
      this.#sourcesDone = true;
      this.#sourcesDoneSignal.abort();
      await Promise.all(deliveryRuns);
      // Merge rounds stop with the deliveries; after a graceful stop the next run merges the rest.
      await this.#merger?.stop();
      if (this.#merger !== undefined && this.#options.untilCaughtUp === true && !this.#stopping && this.#failure === undefined) merged = await this.#merger.final(this.#sourceAbort.signal);
    } catch (err) {
      this.#fail(err);
      await Promise.allSettled([...shardRuns, ...deliveryRuns]);
    } finally {
      await this.close();
    }
    if (this.#failure !== undefined) throw this.#failure;
    const positions: Record<string, string | null> = {};
    for (const [name, l] of this.#sourceLoops) positions[name] = l.position;
    const reason = this.#stopping ? 'stopped' : 'caught-up';
    this.logger.info(reason === 'stopped' ? 'pipeline stopped' : 'pipeline caught up', { positions });
    return { reason, positions, ...(merged === undefined ? {} : { merged }) };
  }

  /** Closes components and the stores this runner opened (idempotent; `run()` calls it). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.collectMetrics().catch((err: unknown) => this.logger.warn('collecting final metrics failed', { error: err }));
    this.#closed = true;
    const settle = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.logger.warn(`closing ${what} failed`, { error: err });
      }
    };
    // The merger uses the state store and the lake: it closes before them.
    if (this.#merger !== undefined) await settle('current-state merger', () => (this.#merger as CurrentStateMerger).close());
    for (const [n, s] of this.#built.sources) await settle(`source ${n}`, () => s.close());
    for (const [n, d] of this.#built.deliveries) await settle(`delivery ${n}`, () => d.close());
    for (const [n, t] of this.#built.transforms) await settle(`transform ${n}`, () => t.close());
    if (this.#owned.log) await settle('stream log', () => this.log.close());
    if (this.#owned.state) await settle('state store', () => this.state.close());
    if (this.#owned.lake) await settle('lake', () => this.lake.close());
  }
}
