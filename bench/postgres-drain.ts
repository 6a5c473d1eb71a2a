/**
 * What the PostgreSQL benchmarks (`postgres`, `snapshot`) share: their server (database `bench`
 * with table `t` of ~100-byte rows in publication `hydrant_pub`), and what they time: a
 * `PostgresSource` read until it has produced a given number of events, each batch appended to
 * the embedded stream log (fsync'd) before it is acknowledged, or, to separate the source's own
 * cost, only decoded and acknowledged.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { encodeEnvelope, partitionKeyOf } from '../src/core/change-event.ts';
import type { ComponentContext } from '../src/core/component.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import type { ObjectStore } from '../src/lake/object-store.ts';
import { postgresConfig } from '../src/sources/postgres/config.ts';
import { PostgresSource } from '../src/sources/postgres/postgres-source.ts';
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
}

/** Reads `rows` events from database `bench` of `s`; the seconds it took and the log's fsyncs. */
export async function drainPostgres(s: PostgresServer, options: DrainOptions): Promise<{ seconds: number; fsyncs: number }> {
  const { name, dataDir, rows, durable } = options;
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const log = new EmbeddedStreamLog({ dataDir, logger: silentLogger });
  await log.ensureStream('changes', { shards: 2 });
  // The source reaches neither the state store's durability nor the lake: a memory store and no lake.
  const ctx: ComponentContext = { name, pipeline: 'bench', dataDir, state: new MemoryStateStore(), log, lake: {} as ObjectStore, logger: silentLogger, metrics: new Metrics() };
  const src = new PostgresSource(postgresConfig.parse({ host: s.host, port: s.port, user: s.user, database: 'bench', publication: 'hydrant_pub', ...options.config }), ctx);
  const ac = new AbortController();
  const t0 = performance.now();
  await src.start(null);
  let n = 0;
  while (n < rows) {
    const b = await src.next(ac.signal);
    if (b.events.length > 0 && durable) await log.append('changes', b.events.map((e) => ({ partitionKey: partitionKeyOf(e), data: encodeEnvelope(e) })));
    n += b.events.length;
    await src.ack(b.position);
  }
  const seconds = (performance.now() - t0) / 1000;
  const fsyncs = log.stats().fsyncs;
  await src.close();
  await log.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (n !== rows) throw new Error(`source ${name} read ${n} rows, expected ${rows}`);
  return { seconds, fsyncs };
}
