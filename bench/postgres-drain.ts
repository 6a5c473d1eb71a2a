/**
 * What the PostgreSQL benchmarks (`postgres`, `snapshot`) share: their server (database `bench`
 * with table `t` of ~100-byte rows in publication `hydrant_pub`), and what they time: a
 * `PostgresSource` read until it has produced a given number of events, each batch appended to
 * the embedded stream log (fsync'd) before it is acknowledged, or, to separate the source's own
 * cost, only decoded and acknowledged.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentContext } from '../src/core/component.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import type { ObjectStore } from '../src/lake/object-store.ts';
import { postgresConfig } from '../src/sources/postgres/config.ts';
import { PostgresSource } from '../src/sources/postgres/postgres-source.ts';
import { batchSize } from '../src/sources/source.ts';
import { FsObjectStore } from '../src/lake/fs/fs-object-store.ts';
import { ErrorSink } from '../src/runtime/error-sink.ts';
import { SourceLoop } from '../src/runtime/source-loop.ts';
import { EmbeddedStateStore } from '../src/state/embedded/embedded-state-store.ts';
import { MemoryStateStore } from '../src/state/memory-state-store.ts';
import { EmbeddedStreamLog } from '../src/stream/embedded/embedded-stream-log.ts';
import { startPostgres, type PostgresServer } from '../test/support/postgres.ts';

/**
 * A private server (WAL sized so that checkpoints stay out of the measurement) with database
 * `bench`, an empty table `t` and publication `hydrant_pub` for it. The caller stops it.
 */
export async function startBenchServer(): Promise<PostgresServer> {
  const server = await startPostgres({ settings: { max_wal_size: '4GB', checkpoint_timeout: '30min' } });
  try {
    await server.query('create database bench');
    await server.query(`create table t (id bigint primary key, qty int, price numeric(10,2), name text, created timestamptz)`, [], 'bench');
    await server.query('create publication hydrant_pub for table t', [], 'bench');
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Inserts rows `first..last` into `t` in one statement (one transaction). */
export async function insertRows(s: PostgresServer, first: number, last: number): Promise<void> {
  await s.query(`insert into t select g, (g % 1000)::int, (g % 100000) / 100.0, 'name-' || md5(g::text), now() from generate_series(${first}, ${last}) g`, [], 'bench');
}

/** One drain of a source. */
export interface DrainOptions {
  /** The source's component name (its slot is `hydrant_<name>`). */
  readonly name: string;
  /** The embedded log's data dir; emptied first and removed after. */
  readonly dataDir: string;
  /** How many events to read before stopping. */
  readonly rows: number;
  /** Append every batch to the stream log before acking (false: decode and ack only). */
  readonly durable: boolean;
  /** Source config keys beyond host, port, user, database `bench` and publication `hydrant_pub`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Shards of the stream (2 unless given). */
  readonly shards?: number;
}

/**
 * Reads `rows` events from database `bench` of `s`; the seconds it took and the log's fsyncs.
 * Durable drains run the runner's own {@link SourceLoop} (append, position commit in the
 * embedded state store, then ack; the next batch decoded while the previous one is fsync'd)
 * until the source is caught up; decode-only drains pull and ack in a plain loop.
 */
export async function drainPostgres(s: PostgresServer, options: DrainOptions): Promise<{ seconds: number; fsyncs: number }> {
  const { name, dataDir, rows, durable } = options;
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const log = new EmbeddedStreamLog({ dataDir, logger: silentLogger, retentionIntervalMs: 0 });
  await log.ensureStream('changes', { shards: options.shards ?? 2 });
  const state = durable ? await EmbeddedStateStore.open({ dataDir, logger: silentLogger }) : new MemoryStateStore();
  const metrics = new Metrics();
  const ctx: ComponentContext = { name, pipeline: 'bench', dataDir, state, log, lake: {} as ObjectStore, logger: silentLogger, metrics, encodedBatches: true };
  const src = new PostgresSource(postgresConfig.parse({ host: s.host, port: s.port, user: s.user, database: 'bench', publication: 'hydrant_pub', ...options.config }), ctx);
  const ac = new AbortController();
  const t0 = performance.now();
  let n = 0;
  if (durable) {
    const loop = new SourceLoop({ name, source: src, stream: 'changes', transforms: [], state, log, errors: new ErrorSink(new FsObjectStore(join(dataDir, 'lake')), silentLogger, metrics), logger: silentLogger, metrics, untilCaughtUp: true });
    await loop.run(ac.signal);
    n = log.stats().recordsAppended;
  } else {
    await src.start(null);
    while (n < rows) {
      const b = await src.next(ac.signal);
      n += batchSize(b);
      await src.ack(b.position);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const fsyncs = log.stats().fsyncs;
  await src.close();
  await log.close();
  await state.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (n !== rows) throw new Error(`source ${name} read ${n} rows, expected ${rows}`);
  return { seconds, fsyncs };
}
