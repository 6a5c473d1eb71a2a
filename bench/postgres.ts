/**
 * PostgreSQL change capture against `pg_recvlogical --plugin=pgoutput` in the same run, on the
 * same server and the same WAL. Two workloads of ~100-byte rows, each written while two fresh
 * slots are in place and then drained by both consumers in turn (nothing else writes):
 * (1) N rows in large transactions (50,000 rows each), (2) N/5 single-row transactions.
 * - pg_recvlogical writes the raw pgoutput stream to /dev/null (fsync off: nothing durable)
 *   and stops at the WAL end (`--endpos`);
 * - Hydrant decodes every change into a typed event, appends it to the embedded stream log
 *   (fsync'd) and only then acknowledges the slot.
 * - the same source without the stream (decode + ack only), to separate the source's own cost
 *   from the envelope encoding and the log.
 * Rows/s for each (best of 3 rounds that alternate the consumers, all draining the same WAL:
 * the machine is shared), and Hydrant / pg_recvlogical ratios against the goals.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Benchmark, BenchRow } from './harness.ts';
import { drainPostgres, insertRows, startBenchServer } from './postgres-drain.ts';
import type { PostgresServer } from '../test/support/postgres.ts';

const TX_ROWS = 50_000;

/** Creates one round's three slots for a phase (pgoutput for all). */
async function slots(s: PostgresServer, phase: string, round: number): Promise<void> {
  for (const slot of [`hydrant_${phase}${round}`, `hydrant_${phase}${round}_decode`, `recv_${phase}${round}`]) await s.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot], 'bench');
}

async function walEnd(s: PostgresServer): Promise<string> {
  return (await s.query<{ l: string }>('select pg_current_wal_lsn()::text l', [], 'bench'))[0]?.l as string;
}

function recvlogical(s: PostgresServer, slot: string, endpos: string): number {
  const t0 = performance.now();
  const r = spawnSync(join(s.binDir, 'pg_recvlogical'), ['-h', s.host, '-p', String(s.port), '-U', s.user, '-d', 'bench', '--slot', slot, '--start',
    '--endpos', endpos, '-o', 'proto_version=1', '-o', 'publication_names=hydrant_pub', '--no-loop', '-f', '/dev/null'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_recvlogical failed (${r.status}): ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

/** Drains the source's slot; `durable` appends every batch to the embedded log before acking. */
function hydrant(s: PostgresServer, phase: string, rows: number, workDir: string, durable = true): Promise<{ seconds: number; fsyncs: number }> {
  return drainPostgres(s, { name: phase, dataDir: join(workDir, `hydrant-${phase}`), rows, durable, config: { max_batch_events: 20_000, idle_wait_ms: 50 } });
}

export const bench: Benchmark = {
  name: 'postgres',
  summary: 'PostgreSQL change capture made durable in the stream vs pg_recvlogical --plugin=pgoutput to /dev/null',
  async run({ smoke, n, workDir }) {
    const big = n ?? (smoke ? 20_000 : 1_000_000);
    const single = Math.max(1, Math.floor(big / 5));
    const server = await startBenchServer();
    const rows: BenchRow[] = [];
    const ratios: Array<{ name: string; value: number; goal?: number }> = [];
    try {
      await server.query(`create procedure single_rows(first bigint, n int) language plpgsql as $$
        begin for i in first .. first + n - 1 loop
          insert into t values (i, (i % 1000)::int, (i % 100000) / 100.0, 'name-' || md5(i::text), now()); commit;
        end loop; end $$`, [], 'bench');

      const rounds = smoke ? 1 : 3;
      const best = { recvLarge: Infinity, hyLarge: Infinity, decLarge: Infinity, recvSingle: Infinity, hySingle: Infinity, decSingle: Infinity };
      let fsyncsLarge = 0;
      let fsyncsSingle = 0;
      // Every round's slots exist before the rows are written, so all rounds drain the same WAL.
      for (let r = 0; r < rounds; r++) await slots(server, 'large', r);
      for (let first = 1; first <= big; first += TX_ROWS) {
        const last = Math.min(big, first + TX_ROWS - 1);
        await insertRows(server, first, last);
      }
      const end1 = await walEnd(server);
      for (let r = 0; r < rounds; r++) {
        best.recvLarge = Math.min(best.recvLarge, recvlogical(server, `recv_large${r}`, end1));
        const h = await hydrant(server, `large${r}`, big, workDir);
        best.hyLarge = Math.min(best.hyLarge, h.seconds);
        fsyncsLarge = h.fsyncs;
        best.decLarge = Math.min(best.decLarge, (await hydrant(server, `large${r}_decode`, big, workDir, false)).seconds);
        for (const slot of [`hydrant_large${r}`, `hydrant_large${r}_decode`, `recv_large${r}`]) await server.query('select pg_drop_replication_slot($1)', [slot], 'bench');
      }
      for (let r = 0; r < rounds; r++) await slots(server, 'single', r);
      for (let first = big + 1; first <= big + single; first += 10_000) await server.query(`call single_rows(${first}, ${Math.min(10_000, big + single - first + 1)})`, [], 'bench');
      const end2 = await walEnd(server);
      for (let r = 0; r < rounds; r++) {
        best.recvSingle = Math.min(best.recvSingle, recvlogical(server, `recv_single${r}`, end2));
        const h = await hydrant(server, `single${r}`, single, workDir);
        best.hySingle = Math.min(best.hySingle, h.seconds);
        fsyncsSingle = h.fsyncs;
        best.decSingle = Math.min(best.decSingle, (await hydrant(server, `single${r}_decode`, single, workDir, false)).seconds);
      }
      const bytes = Number((await server.query<{ b: string }>(`select pg_relation_size('t')::text b`, [], 'bench'))[0]?.b) / (big + single);
      const note = rounds > 1 ? `, best of ${rounds} alternating rounds` : '';

      rows.push({ name: 'pg_recvlogical, large transactions', value: big / best.recvLarge, unit: 'rows/s', note: `${big} rows, ~${Math.round(bytes)} B/row on disk${note}` });
      rows.push({ name: 'hydrant durable, large transactions', value: big / best.hyLarge, unit: 'rows/s', note: `${fsyncsLarge} fsyncs` });
      rows.push({ name: 'hydrant source only (decoded, acked, no stream), large', value: big / best.decLarge, unit: 'rows/s' });
      rows.push({ name: 'pg_recvlogical, single-row transactions', value: single / best.recvSingle, unit: 'rows/s', note: `${single} transactions` });
      rows.push({ name: 'hydrant durable, single-row transactions', value: single / best.hySingle, unit: 'rows/s', note: `${fsyncsSingle} fsyncs` });
      rows.push({ name: 'hydrant source only (decoded, acked, no stream), single', value: single / best.decSingle, unit: 'rows/s' });
      ratios.push({ name: 'source only, large, vs pg_recvlogical', value: best.recvLarge / best.decLarge });
      ratios.push({ name: 'source only, single-row, vs pg_recvlogical', value: best.recvSingle / best.decSingle });
      ratios.push({ name: 'large transactions vs pg_recvlogical', value: best.recvLarge / best.hyLarge, goal: 1.2 });
      ratios.push({ name: 'single-row transactions vs pg_recvlogical', value: best.recvSingle / best.hySingle, goal: 1.0 });
    } finally {
      await server.stop();
    }
    return { rows, ratios };
  },
};
