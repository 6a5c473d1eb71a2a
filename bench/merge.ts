/**
 * `npm run bench -- merge [--n CHANGES]`: merging CHANGES changes (default 1,000,000) into a
 * current-state table of 10 × CHANGES rows, against DuckDB computing the same result in one
 * SQL statement (latest change per key, anti-join with the table, union the upserts) in the
 * same run, on the same input files.
 *
 * Both sides run in fresh child processes, so peak RSS is each side's own. The Hydrant side
 * is the real merge job: it reads the change object through the catalog, merges with
 * copy-on-write key buckets and commits a manifest. The table is first built by Hydrant from
 * a snapshot change object (reported as the initial load). Changes: 70% updates, 15% deletes
 * of existing keys, 15% inserts of new keys, some keys changed several times. Both results are
 * compared (row count and an order-independent checksum) and the bench fails if they differ.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Benchmark, BenchResult } from './harness.ts';
import { schemaKey, type TableSchema } from '../src/core/schema.ts';
import type { StateValue } from '../src/state/state-store.ts';
import { EmbeddedStateStore } from '../src/state/embedded/embedded-state-store.ts';
import { FsObjectStore } from '../src/lake/fs/fs-object-store.ts';
import { objectEntryKey, type CatalogObject } from '../src/lake/catalog/catalog.ts';
import { MergeEngine } from '../src/lake/current/merge-engine.ts';
import { MergeJob } from '../src/lake/current/merge-job.ts';
import { loadManifest } from '../src/lake/current/manifest.ts';

const SELF = fileURLToPath(import.meta.url);
const TABLE = { source: 'bench', schema: 'public', table: 'items' };
const SCHEMA: TableSchema = {
  ...TABLE, database: 'bench', version: 1, primaryKey: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'name', type: { kind: 'string' }, nullable: true },
    { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true },
    { name: 'qty', type: { kind: 'int32' }, nullable: true },
    { name: 'updated_at', type: { kind: 'timestamptz' }, nullable: true },
  ],
};
const COLS = 'id, name, amount, qty, updated_at';

/** Change-object columns the lake delivery writes, generated in SQL. */
function changeSelect(opExpr: string, idExpr: string, posExpr: string, from: string): string {
  return `SELECT ${opExpr} AS _op, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS _commit_time, ${posExpr} AS _position, 'shard-0' AS _shard, (${posExpr})::BIGINT::VARCHAR AS _sequence,
    ${idExpr}::BIGINT AS id, 'name-' || (${idExpr})::VARCHAR || '-' || (${posExpr}) AS name, (((${posExpr})::BIGINT % 100000) / 100)::DECIMAL(12,2) AS amount,
    ((${posExpr})::BIGINT % 1000)::INTEGER AS qty, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((${posExpr})::BIGINT) AS updated_at FROM ${from}`;
}

async function prepare(dir: string, rows: number, changes: number): Promise<{ base: string; delta: string }> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await db.connect();
  const base = join(dir, 'lake', 'databases/bench/public/items/changes/base.parquet');
  const delta = join(dir, 'lake', 'databases/bench/public/items/changes/delta.parquet');
  mkdirSync(join(dir, 'lake', 'databases/bench/public/items/changes'), { recursive: true });
  await c.run(`COPY (${changeSelect(`'snapshot'`, 'i', `lpad(i::VARCHAR, 16, '0')`, `range(${rows}) t(i)`)}) TO '${base}' (FORMAT parquet, COMPRESSION zstd)`);
  // Keys below `rows` exist: updated (70%) or deleted (15%); keys above are inserts (15%).
  await c.run(`COPY (SELECT * FROM (${changeSelect(
    `CASE WHEN k >= ${rows} THEN 'insert' WHEN r < 70 THEN 'update' ELSE 'delete' END`, 'k', `lpad((${rows} + j)::VARCHAR, 16, '0')`,
    `(SELECT j, hash(j) % 100 AS r, CASE WHEN hash(j) % 100 >= 85 THEN ${rows} + j ELSE hash(j * 7919) % ${rows} END AS k FROM range(${changes}) t(j))`)}) ORDER BY _position) TO '${delta}' (FORMAT parquet, COMPRESSION zstd)`);
  c.closeSync();
  db.closeSync();
  return { base, delta };
}

function catalogEntry(key: string, path: string, rows: number, first: number, last: number): CatalogObject {
  return {
    key, kind: 'changes', table: 'bench.public.items', delivery: 'bench', shard: 'shard-0', buffer: 'b', partition: {}, schemaVersion: 1, format: 'parquet', compression: 'zstd',
    rows, bytes: statSync(path).size, firstSequence: String(first), lastSequence: String(last), minTime: 0, maxTime: 0, committedAt: Date.now(),
  };
}

interface ChildResult {
  readonly ms: number;
  readonly maxRssMiB: number;
  readonly rows: number;
  readonly checksum: string;
}

function child(args: string[]): ChildResult {
  const r = spawnSync(process.execPath, [...(process.env['HYDRANT_BENCH_PROFILE'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['HYDRANT_BENCH_PROFILE']] : []), '--import', 'tsx', SELF, ...args], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, HYDRANT_CRASH_AT: '' } });
  if (r.status !== 0) throw new Error(`bench child ${args[0]} failed: ${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildResult;
}

const CHECKSUM = `SELECT count(*)::BIGINT AS n, sum(hash(id, name, amount::VARCHAR, qty, updated_at))::VARCHAR AS h FROM`;

async function checksum(files: string[]): Promise<{ rows: number; checksum: string }> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await db.connect();
  try {
    if (files.length === 0) return { rows: 0, checksum: '0' };
    const r = (await c.runAndReadAll(`${CHECKSUM} (SELECT ${COLS} FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]))`)).getRows()[0] as [bigint, string | null];
    return { rows: Number(r[0]), checksum: r[1] ?? '0' };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** Child: one merge by the real merge job; prints timing, peak RSS and the result's checksum. */
async function hydrantChild(dir: string): Promise<void> {
  const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
  const lake = new FsObjectStore(join(dir, 'lake'));
  const engine = await MergeEngine.open({ state, lake, tmpDir: join(dir, 'tmp'), buckets: 16, graceMs: 0 });
  const t0 = performance.now();
  await new MergeJob({ state, lake, engine, tmpDir: join(dir, 'tmp') }).mergeTable(TABLE);
  const ms = performance.now() - t0;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  await engine.close();
  const m = await loadManifest(state, TABLE);
  await state.close();
  const sum = await checksum((m?.files ?? []).map((f) => lake.pathOf(f.key)));
  process.stdout.write(JSON.stringify({ ms, maxRssMiB, ...sum }) + '\n');
}

/** Child: DuckDB computes the merged table in one statement from the same files. */
async function duckdbChild(dir: string, baseGlob: string, delta: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2', temp_directory: join(dir, 'tmp') });
  const c = await db.connect();
  const out = join(dir, 'duckdb-result.parquet');
  const t0 = performance.now();
  await c.run(`COPY (
    WITH ch AS (SELECT * FROM read_parquet('${delta}') QUALIFY row_number() OVER (PARTITION BY id ORDER BY _position DESC) = 1)
    SELECT ${COLS} FROM read_parquet('${baseGlob}') b WHERE NOT EXISTS (SELECT 1 FROM ch WHERE ch.id = b.id)
    UNION ALL SELECT ${COLS} FROM ch WHERE _op <> 'delete'
  ) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
  const ms = performance.now() - t0;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  c.closeSync();
  db.closeSync();
  process.stdout.write(JSON.stringify({ ms, maxRssMiB, ...(await checksum([out])) }) + '\n');
}

export const bench: Benchmark = {
  name: 'merge',
  summary: 'merge N changes into a 10×N-row current-state table vs DuckDB in one SQL statement',
  async run({ smoke, n, workDir }): Promise<BenchResult> {
    const changes = n ?? (smoke ? 2_000 : 1_000_000);
    const rows = changes * 10;
    const { base, delta } = await prepare(workDir, rows, changes);
    const state = await EmbeddedStateStore.open({ dataDir: join(workDir, 'data') });
    await state.commit([{ type: 'put', key: schemaKey(SCHEMA, 1), value: SCHEMA as unknown as StateValue }]);
    const baseEntry = catalogEntry('databases/bench/public/items/changes/base.parquet', base, rows, 1, rows);
    await state.commit([{ type: 'put', key: objectEntryKey(baseEntry), value: baseEntry as unknown as StateValue }]);
    await state.close();
    const load = child(['hydrant', workDir]);
    // The table's files before the changes: DuckDB's input is exactly Hydrant's.
    const st = await EmbeddedStateStore.open({ dataDir: join(workDir, 'data') });
    const before = await loadManifest(st, TABLE);
    const lake = new FsObjectStore(join(workDir, 'lake'));
    const snapshotDir = join(workDir, 'duckdb-base');
    mkdirSync(snapshotDir, { recursive: true });
    const db = await DuckDBInstance.create(':memory:', { threads: '2' });
    const c = await db.connect();
    await c.run(`COPY (SELECT ${COLS} FROM read_parquet([${(before?.files ?? []).map((f) => `'${lake.pathOf(f.key)}'`).join(', ')}])) TO '${join(snapshotDir, 'base.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
    c.closeSync();
    db.closeSync();
    const deltaEntry = catalogEntry('databases/bench/public/items/changes/delta.parquet', delta, changes, rows + 1, rows + changes);
    await st.commit([{ type: 'put', key: objectEntryKey(deltaEntry), value: deltaEntry as unknown as StateValue }]);
    await st.close();
    const merged = child(['hydrant', workDir]);
    const duck = child(['duckdb', workDir, join(snapshotDir, '*.parquet'), delta]);
    if (merged.rows !== duck.rows || merged.checksum !== duck.checksum) {
      throw new Error(`merge results differ: hydrant ${merged.rows} rows (checksum ${merged.checksum}), DuckDB ${duck.rows} rows (checksum ${duck.checksum})`);
    }
    const rate = (k: number, ms: number): number => k / (ms / 1000);
    return {
      rows: [
        { name: 'hydrant initial load (snapshot)', value: rate(rows, load.ms), unit: 'rows/s', note: `${rows.toLocaleString('en-US')} rows, ${(load.ms / 1000).toFixed(1)} s, peak RSS ${load.maxRssMiB.toFixed(0)} MiB` },
        { name: 'hydrant merge', value: rate(changes, merged.ms), unit: 'changes/s', note: `${changes.toLocaleString('en-US')} changes into ${rows.toLocaleString('en-US')} rows, ${(merged.ms / 1000).toFixed(1)} s, peak RSS ${merged.maxRssMiB.toFixed(0)} MiB` },
        { name: 'duckdb one-statement merge (peer)', value: rate(changes, duck.ms), unit: 'changes/s', note: `${(duck.ms / 1000).toFixed(1)} s, peak RSS ${duck.maxRssMiB.toFixed(0)} MiB` },
        { name: 'hydrant merge table rows/s', value: rate(rows, merged.ms), unit: 'rows/s', note: 'table rows rewritten per second (every bucket is touched)' },
        { name: 'result rows (equal on both sides)', value: merged.rows, unit: 'rows' },
      ],
      ratios: [{ name: 'hydrant vs duckdb (speed)', value: duck.ms / merged.ms }, { name: 'duckdb vs hydrant (peak RSS)', value: duck.maxRssMiB / merged.maxRssMiB }],
    };
  },
};

if (process.argv[1] === SELF) {
  const [mode, dir, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
  if (mode === 'hydrant') await hydrantChild(dir);
  else if (mode === 'duckdb') await duckdbChild(dir, rest[0] as string, rest[1] as string);
}
