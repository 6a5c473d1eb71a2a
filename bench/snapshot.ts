/**
 * PostgreSQL full load against `psql -c "COPY ... TO STDOUT"` to /dev/null in the same run, on
 * the same server and table (N rows of ~100 bytes: bigint key, int, numeric(10,2), text,
 * timestamptz):
 * - psql COPY text and COPY binary to /dev/null: the server's raw export speed (nothing parsed,
 *   nothing durable);
 * - Hydrant's initial load (`snapshot: initial`: slot with an exported snapshot, parallel COPY
 *   binary chunks, every row a typed `op: snapshot` event) appended to the embedded stream log
 *   (fsync'd) before each batch is acknowledged and its chunks checkpointed;
 * - the same load without the stream (decoded and acknowledged only), to separate the engine's
 *   own cost from envelope encoding and the log.
 * Rows/s for each and the ratio durable load / psql COPY (goal: at least 0.5x).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, BenchRow } from './harness.ts';
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

function psqlCopy(s: PostgresServer, sql: string): number {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `"${join(s.binDir, 'psql')}" -X -q -h ${s.host} -p ${s.port} -U ${s.user} -d bench -c "${sql}" > /dev/null`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

/** Runs the initial load of `rows` rows; `durable` appends each batch to the stream log before acking. */
async function load(s: PostgresServer, name: string, rows: number, workDir: string, durable: boolean): Promise<{ seconds: number; fsyncs: number }> {
  const dataDir = join(workDir, `snapshot-${name}`);
  mkdirSync(dataDir, { recursive: true });
  const log = new EmbeddedStreamLog({ dataDir, logger: silentLogger });
  await log.ensureStream('changes', { shards: 2 });
  const ctx: ComponentContext = { name, pipeline: 'bench', dataDir, state: new MemoryStateStore(), log, lake: {} as ObjectStore, logger: silentLogger, metrics: new Metrics() };
  const src = new PostgresSource(postgresConfig.parse({ host: s.host, port: s.port, user: s.user, database: 'bench', publication: 'hydrant_pub', snapshot: 'initial', snapshot_workers: 2, snapshot_chunk_rows: 100_000, max_batch_events: 20_000, idle_wait_ms: 50, heartbeat_interval_ms: 0 }), ctx);
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
  await s.query(`select pg_drop_replication_slot($1)`, [`hydrant_${name}`], 'bench');
  rmSync(dataDir, { recursive: true, force: true });
  if (n !== rows) throw new Error(`hydrant loaded ${n} rows, expected ${rows}`);
  return { seconds, fsyncs };
}

export const bench: Benchmark = {
  name: 'snapshot',
  summary: 'PostgreSQL full load (parallel COPY binary chunks) made durable in the stream vs psql COPY TO STDOUT to /dev/null',
  async run({ smoke, n, workDir }) {
    const total = n ?? (smoke ? 20_000 : 1_000_000);
    const server = await startPostgres({ settings: { max_wal_size: '4GB', checkpoint_timeout: '30min' } });
    const rows: BenchRow[] = [];
    const ratios: Array<{ name: string; value: number; goal?: number }> = [];
    try {
      await server.query('create database bench');
      await server.query(`create table t (id bigint primary key, qty int, price numeric(10,2), name text, created timestamptz)`, [], 'bench');
      await server.query('create publication hydrant_pub for table t', [], 'bench');
      await server.query(`insert into t select g, (g % 1000)::int, (g % 100000) / 100.0, 'name-' || md5(g::text), now() from generate_series(1, ${total}) g`, [], 'bench');
      await server.query('vacuum analyze t', [], 'bench');
      // Warm the cache for everyone alike.
      psqlCopy(server, 'COPY t TO STDOUT');
      const text = psqlCopy(server, 'COPY t TO STDOUT');
      const binary = psqlCopy(server, 'COPY t TO STDOUT (FORMAT binary)');
      const durable = await load(server, 'durable', total, workDir, true);
      const only = await load(server, 'decode', total, workDir, false);
      rows.push({ name: 'psql COPY TO STDOUT (text) > /dev/null', value: total / text, unit: 'rows/s', note: `${total} rows` });
      rows.push({ name: 'psql COPY TO STDOUT (binary) > /dev/null', value: total / binary, unit: 'rows/s' });
      rows.push({ name: 'hydrant initial load, durable in the stream', value: total / durable.seconds, unit: 'rows/s', note: `${durable.fsyncs} fsyncs, 2 readers` });
      rows.push({ name: 'hydrant initial load, decoded + acked (no stream)', value: total / only.seconds, unit: 'rows/s' });
      ratios.push({ name: 'durable load vs psql COPY (text)', value: text / durable.seconds, goal: 0.5 });
      ratios.push({ name: 'decoded load vs psql COPY (text)', value: text / only.seconds });
    } finally {
      await server.stop();
    }
    return { rows, ratios };
  },
};
