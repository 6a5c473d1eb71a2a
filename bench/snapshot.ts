/**
 * PostgreSQL full load against `psql -c "COPY ... TO STDOUT"` to /dev/null in the same run, on
 * the same server and table (N rows of ~100 bytes: bigint key, int, numeric(10,2), text,
 * timestamptz):
 * - psql COPY text and COPY binary to /dev/null: the server's raw export speed (nothing parsed,
 *   nothing durable);
 * - Hydrant's initial load (`snapshot: initial`: slot with an exported snapshot, parallel COPY
 *   binary chunks, every row an `op: snapshot` envelope written straight from the COPY bytes as
 *   a stream record, since the runner takes encoded batches) appended to the embedded stream
 *   log (fsync'd) before each batch is acknowledged and its chunks checkpointed;
 * - the same load without the stream (decoded, encoded and acknowledged only), to separate the
 *   engine's own cost, envelope encoding included, from the log.
 * Rows/s for each and the ratio durable load / psql COPY (goal: at least 0.5x).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Benchmark, BenchRow } from './harness.ts';
import { drainPostgres, insertRows, startBenchServer } from './postgres-drain.ts';
import type { PostgresServer } from '../test/support/postgres.ts';

function psqlCopy(s: PostgresServer, sql: string): number {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `"${join(s.binDir, 'psql')}" -X -q -h ${s.host} -p ${s.port} -U ${s.user} -d bench -c "${sql}" > /dev/null`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

/** Runs the initial load of `rows` rows; `durable` appends each batch to the stream log before acking. */
async function load(s: PostgresServer, name: string, rows: number, workDir: string, durable: boolean): Promise<{ seconds: number; fsyncs: number }> {
  const r = await drainPostgres(s, {
    name,
    dataDir: join(workDir, `snapshot-${name}`),
    rows,
    durable,
    config: { snapshot: 'initial', snapshot_workers: 2, snapshot_chunk_rows: 100_000, max_batch_events: 20_000, idle_wait_ms: 50, heartbeat_interval_ms: 0 },
  });
  await s.query(`select pg_drop_replication_slot($1)`, [`hydrant_${name}`], 'bench');
  return r;
}

export const bench: Benchmark = {
  name: 'snapshot',
  summary: 'PostgreSQL full load (parallel COPY binary chunks) made durable in the stream vs psql COPY TO STDOUT to /dev/null',
  async run({ smoke, n, workDir }) {
    const total = n ?? (smoke ? 20_000 : 1_000_000);
    const server = await startBenchServer();
    const rows: BenchRow[] = [];
    const ratios: Array<{ name: string; value: number; goal?: number }> = [];
    try {
      await insertRows(server, 1, total);
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
