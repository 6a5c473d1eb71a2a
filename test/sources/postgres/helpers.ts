/**
 * Helpers for the postgres source tests: one private server per test file with a fresh
 * database per test, a component context without a stream log or lake (the tests play the
 * runner: they keep batches as "durable" and then ack), and a collector.
 */
import { decodeEncodedEvents } from '../../../src/core/encoded-events.ts';
import { batchSize } from '../../../src/sources/source.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import type { ComponentContext } from '../../../src/core/component.ts';
import { createLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import type { TableSchema } from '../../../src/core/schema.ts';
import { schemaKey } from '../../../src/core/schema.ts';
import type { ObjectStore } from '../../../src/lake/object-store.ts';
import { PostgresSource } from '../../../src/sources/postgres/postgres-source.ts';
import { postgresConfig } from '../../../src/sources/postgres/config.ts';
import type { StateStore, StateValue } from '../../../src/state/state-store.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import type { StreamLog } from '../../../src/stream/stream-log.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';

/**
 * Starts one private server (with `settings`) before the file's tests and stops it after them;
 * `onStart` receives it. Returns `freshDb`, which creates a new database per call (`db1`, `db2`,
 * ...) so that the tests of a file do not see each other's slots and tables.
 */
export function sharedPostgres(settings: Record<string, string>, onStart: (server: PostgresServer) => void): () => Promise<string> {
  let server: PostgresServer | undefined;
  let dbCount = 0;
  before(async () => {
    server = await startPostgres({ settings });
    onStart(server);
  });
  after(async () => {
    await server?.stop();
  });
  return async () => {
    if (server === undefined) throw new Error('sharedPostgres: freshDb() called before the server started (call it inside a test)');
    const db = `db${++dbCount}`;
    await server.query(`create database ${db}`);
    return db;
  };
}

/** A context for a source under test; `logs` collects warnings. */
export function testContext(name: string, state: StateStore = new MemoryStateStore()): { ctx: ComponentContext; dataDir: string; logs: string[]; cleanup(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'hydrant-pgsrc-'));
  const logs: string[] = [];
  const ctx: ComponentContext = {
    name,
    pipeline: 'test',
    dataDir,
    state,
    log: {} as StreamLog,
    lake: {} as ObjectStore,
    logger: createLogger({ level: 'info', sink: (l) => logs.push(l) }),
    metrics: new Metrics(),
  };
  return { ctx, dataDir, logs, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** A source on `server`'s database `db` with test-friendly defaults plus `extra` config. */
export function makeSource(server: PostgresServer, db: string, ctx: ComponentContext, extra: Record<string, unknown> = {}): PostgresSource {
  const cfg = postgresConfig.parse({ host: server.host, port: server.port, user: server.user, database: db, idle_wait_ms: 200, status_interval_ms: 500, slot_check_interval_ms: 1000, ...extra });
  return new PostgresSource(cfg, ctx);
}

/** What a test "made durable". */
export interface Collected {
  readonly events: ChangeEvent[];
  readonly schemas: TableSchema[];
  position: string | null;
}

/**
 * Pulls batches until `done(collected)` holds (or `maxEmpty` consecutive empty batches),
 * "makes each durable" (keeps it, records schemas in the state store), then acks its position.
 */
export async function collect(source: PostgresSource, state: StateStore, done: (c: Collected) => boolean, into?: Collected, maxEmpty = 100): Promise<Collected> {
  const c: Collected = into ?? { events: [], schemas: [], position: null };
  const ac = new AbortController();
  let empty = 0;
  while (!done(c)) {
    const b = await source.next(ac.signal);
    if (b.schemas !== undefined) {
      for (const s of b.schemas) await state.commit([{ type: 'put', key: schemaKey(s, s.version), value: s as unknown as StateValue }]);
      c.schemas.push(...b.schemas);
    }
    for (const e of b.events) c.events.push(e as ChangeEvent);
    // Batches written as stream records (ctx.encodedBatches) are read back as events.
    if (b.encoded !== undefined) for (const e of decodeEncodedEvents(b.encoded)) c.events.push(e as ChangeEvent);
    c.position = b.position;
    await source.ack(b.position);
    if (batchSize(b) === 0) {
      if (++empty >= maxEmpty) throw new Error(`no more events after ${c.events.length}; position ${c.position}`);
    } else empty = 0;
  }
  return c;
}

/** Asserts every event position is unique and strictly increasing. */
export function assertPositionsStrict(events: readonly ChangeEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const a = (events[i - 1] as ChangeEvent).source.position;
    const b = (events[i] as ChangeEvent).source.position;
    if (!(a < b)) throw new Error(`positions not strictly increasing at ${i}: ${a} then ${b}`);
  }
}
