/**
 * End to end through the CLI: the generator source → the embedded stream → the lake delivery
 * (Parquet) with `hydrant run --until-caught-up`, then `hydrant merge FILE`. Every current-state
 * table must equal DuckDB's own reading of the change history (latest change per key by
 * position, deletes removed), a reader that shares no code with the merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { listCurrentTables } from '../../../src/lake/current/manifest.ts';
import { currentTableSelect } from '../../../src/lake/current/current-reader.ts';
import { latestSchema } from '../../../src/core/schema.ts';
import { changeEntries } from '../../../src/lake/current/merge-job.ts';
import { ident, literal } from '../../../src/lake/current/parquet-rows.ts';

const BIN = join(import.meta.dirname, '../../../bin/hydrant.js');

function hydrant(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, HYDRANT_CRASH_AT: '' } });
}

test('hydrant run (generator → lake parquet), then hydrant merge: current state equals the latest change per key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-merge-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pipeline.yaml');
  const pipeline = (count: number) => `name: merge-e2e
data_dir: data
lake: { type: fs, path: lake }
streams: { changes: { shards: 2 } }
sources:
  shop: { type: generator, stream: changes, seed: 7, count: ${count}, batch_size: 500 }
deliveries:
  lake: { type: lake, stream: changes, format: parquet, buffer_interval_s: 0 }
`;
  writeFileSync(file, pipeline(3000));
  let r = hydrant(['run', file, '--until-caught-up']);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  r = hydrant(['merge', file]);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stdout, /shop\.public\.orders: version 1, \d+ rows/);
  await verify(dir);
  // More changes, a second merge: incremental, and still equal.
  writeFileSync(file, pipeline(6000));
  r = hydrant(['run', file, '--until-caught-up']);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  r = hydrant(['merge', file, 'orders', 'customers', '--compact', '--target-mib', '1']);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stdout, /compaction: \d+ small change objects into \d+/);
  assert.match(r.stdout, /shop\.public\.orders: version 2, .*lag \d+\.\d s/);
  assert.doesNotMatch(r.stdout, /products/);
  r = hydrant(['merge', file]);
  assert.match(r.stdout, /shop\.public\.orders: up to date/);
  await verify(dir);
  r = hydrant(['merge', file, 'nope']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no table named nope/);
});

async function verify(dir: string): Promise<void> {
  const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
  const lake = new FsObjectStore(join(dir, 'data', 'lake'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const tables = await listCurrentTables(state);
    assert.deepEqual(tables.map((m) => m.table.table).sort(), ['customers', 'order_items', 'orders', 'products']);
    assert.ok(tables.every((m) => m.rows > 0), 'every table has rows');
    const entries = await changeEntries(state);
    for (const m of tables) {
      const schema = (await latestSchema(state, m.table))!;
      const cols = schema.columns.map((c) => ident(c.name)).join(', ');
      const pk = schema.primaryKey.map(ident).join(', ');
      const files = entries.filter((e) => e.object.table === `${m.table.source}.${m.table.schema}.${m.table.table}`).map((e) => literal(lake.pathOf(e.object.key)));
      const expected = `SELECT ${cols} FROM (SELECT *, row_number() OVER (PARTITION BY ${pk} ORDER BY _position DESC) AS rn FROM read_parquet([${files.join(', ')}], union_by_name = true)) WHERE rn = 1 AND _op <> 'delete'`;
      const current = `SELECT ${cols} FROM (${currentTableSelect(m, schema, (k) => lake.pathOf(k))})`;
      const diff = await conn.runAndReadAll(`SELECT count(*) FROM ((${expected} EXCEPT ALL ${current}) UNION ALL (${current} EXCEPT ALL ${expected}))`);
      assert.equal(Number(diff.getRows()[0]![0]), 0, `${m.table.table}: current state differs from the change history`);
      const n = await conn.runAndReadAll(`SELECT count(*) FROM (${current})`);
      assert.equal(Number(n.getRows()[0]![0]), m.rows);
    }
  } finally {
    conn.closeSync();
    db.closeSync();
    await state.close();
  }
}

test('hydrant merge arguments: options parsed, bad values named with the usage', async () => {
  const { parseMergeArgs } = await import('../../../src/cli/commands/merge.ts');
  assert.deepEqual(parseMergeArgs(['p.yaml', 'orders', '--interval', '30', '--buckets=64', '--grace', '0', '--compact', '--target-mib', '256', '--memory-mib', '512']), {
    file: 'p.yaml', tables: ['orders'], intervalS: 30, buckets: 64, graceS: 0, compact: true, targetMiB: 256, memoryMiB: 512, metricsPort: undefined,
  });
  assert.throws(() => parseMergeArgs([]), /missing pipeline file; usage: hydrant merge FILE/);
  assert.throws(() => parseMergeArgs(['p.yaml', '--buckets', '0']), /--buckets needs an integer 1\.\.4096, found "0"/);
  assert.throws(() => parseMergeArgs(['p.yaml', '--nope']), /unknown option --nope/);
});

test('hydrant merge --interval keeps merging until SIGTERM (merge lag on /metrics), then exits 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-merge-interval-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, `name: merge-interval
data_dir: data
lake: { type: fs, path: lake }
streams: { changes: { shards: 1 } }
sources:
  shop: { type: generator, stream: changes, seed: 3, count: 500, batch_size: 100 }
deliveries:
  lake: { type: lake, stream: changes, format: parquet, buffer_interval_s: 0 }
`);
  assert.equal(hydrant(['run', file, '--until-caught-up']).status, 0);
  const child = spawn(process.execPath, [BIN, 'merge', file, '--interval', '0.2', '--metrics-port', '0'], { env: { ...process.env, HYDRANT_CRASH_AT: '', HYDRANT_LOG_LEVEL: 'info' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Wait for the first round's report and the metrics endpoint, then stop it.
  await new Promise<void>((resolve) => {
    const check = () => out.includes('shop.public.orders') && /http:\/\/127\.0\.0\.1:\d+\/metrics/.test(err) && resolve();
    child.stdout.on('data', check);
    child.stderr.on('data', check);
  });
  const url = (/http:\/\/127\.0\.0\.1:\d+\/metrics/.exec(err) as RegExpExecArray)[0];
  const metrics = await (await fetch(url)).text();
  assert.match(metrics, /hydrant_merge_lag_seconds\{table="shop\.public\.orders"\} \d/);
  assert.match(metrics, /hydrant_current_rows\{table="shop\.public\.orders"\} [1-9]/);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  assert.match(out, /shop\.public\.orders: version 1/);
});
