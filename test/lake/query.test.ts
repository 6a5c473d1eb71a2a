/**
 * `hydrant query` / `hydrant tables` and LakeQuery over a lake written by the lake delivery:
 * catalog table names, schema evolution (added column → NULL in older objects), hive partition
 * columns, events, and an S3 lake where only the objects of the named tables are fetched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { Timestamp } from '../../src/core/values.ts';
import { lakeDeliveryConfig } from '../../src/delivery/lake/config.ts';
import { LakeDelivery } from '../../src/delivery/lake/lake-delivery.ts';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import type { ObjectStore } from '../../src/lake/object-store.ts';
import { LakeQuery } from '../../src/lake/query/lake-query.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import type { StateStore } from '../../src/state/state-store.ts';
import { startS3 } from '../support/s3.ts';
import { ORDERS, orderChange, putSchema, records, StateCommitter } from '../delivery/lake/fixtures.ts';

async function fillLake(state: StateStore, lake: ObjectStore, dataDir: string, format: 'parquet' | 'jsonl' | 'csv' = 'parquet'): Promise<void> {
  await putSchema(state, ORDERS);
  await putSchema(state, { ...ORDERS, version: 2, columns: [...ORDERS.columns, { name: 'coupon', type: { kind: 'string' }, nullable: true }] });
  const d = new LakeDelivery(lakeDeliveryConfig.parse({ format, buffer_interval_s: 0 }), { name: 'to_lake', dataDir, state, lake, logger: silentLogger, metrics: new Metrics() });
  await d.start(new StateCommitter(state));
  const v1 = Array.from({ length: 10 }, (_, i) => orderChange(i + 1, i === 9 ? 'delete' : 'insert', Date.UTC(2024, 0, 2, 3)));
  const v2 = Array.from({ length: 5 }, (_, i) => ({ ...orderChange(i + 11, 'insert', Date.UTC(2024, 0, 2, 4), { coupon: `C${i}` }), schemaVersion: 2 }));
  const ev = { op: 'event' as const, source: { kind: 'http', name: 'clicks', position: '1' }, key: 'u1', eventTime: Timestamp.fromMillis(Date.UTC(2024, 5, 1)), data: { page: '/home' } };
  await d.write('s0', records('s0', [...v1, ...v2, ev]));
  await d.flush();
  await d.close();
}

/**
 * Runs `fn` with a LakeQuery over a private S3 lake that `fillLake` filled (in `format`), and
 * the query's notes; then closes and removes everything.
 */
async function withS3Lake(prefix: string, format: 'parquet' | 'jsonl', fn: (q: LakeQuery, notes: string[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const s3 = await startS3();
  const state = await EmbeddedStateStore.open({ dataDir: dir });
  const lake = s3.store('lake');
  const notes: string[] = [];
  const q = new LakeQuery({ state, lake, cacheDir: join(dir, 'cache'), note: (m) => notes.push(m) });
  try {
    await fillLake(state, lake, dir, format);
    await fn(q, notes);
  } finally {
    await q.close();
    await state.close();
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('LakeQuery over a local lake: _changes views, schema versions union by name, hive columns, events', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-query-'));
  const state = await EmbeddedStateStore.open({ dataDir: dir });
  const lake = new FsObjectStore(join(dir, 'lake'));
  const q = new LakeQuery({ state, lake, cacheDir: join(dir, 'cache') });
  try {
    await fillLake(state, lake, dir);
    assert.deepEqual(await q.tableNames(), ['events.clicks', 'shop.public.orders_changes']);
    const r = await q.run(`SELECT _op, count(*)::INT n, count(coupon)::INT coupons, min(hour) h FROM shop.public.orders_changes GROUP BY _op ORDER BY _op`);
    assert.deepEqual(r.columns, ['_op', 'n', 'coupons', 'h']);
    assert.deepEqual(r.rows, [{ _op: 'delete', n: 1, coupons: 0, h: '03' }, { _op: 'insert', n: 14, coupons: 5, h: '03' }]);
    const pruned = await q.run(`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE hour = '04'`);
    assert.deepEqual(pruned.rows, [{ n: 5 }]);
    const ev = await q.run(`SELECT data->>'page' p FROM events.clicks`);
    assert.deepEqual(ev.rows, [{ p: '/home' }]);
    await assert.rejects(q.run('SELECT * FROM shop.public.nope_changes'), (e: Error) => /Tables in this lake: events.clicks, shop.public.orders_changes/.test(e.message));
  } finally {
    await q.close();
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LakeQuery over an S3 lake fetches only the named tables into the cache and says so', async () => {
  await withS3Lake('hydrant-query-s3-', 'jsonl', async (q, notes) => {
    const r = await q.run(`SELECT count(*)::INT n FROM shop.public.orders_changes`);
    assert.deepEqual(r.rows, [{ n: 15 }]);
    assert.match(notes[0] ?? '', /^fetched 2 object\(s\).*from s3:\/\/lake\/lake/);
    await q.run(`SELECT count(*)::INT n FROM shop.public.orders_changes`);
    assert.match(notes[1] ?? '', /^fetched 0 object/);
  });
});

test('hydrant tables and hydrant query CLI on a pipeline file (table, csv, json output)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-query-cli-'));
  try {
    const dataDir = join(dir, 'data');
    const state = await EmbeddedStateStore.open({ dataDir });
    await fillLake(state, new FsObjectStore(join(dataDir, 'lake')), dataDir, 'csv');
    await state.close();
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, 'name: qtest\ndata_dir: data\nlake:\n  type: fs\n  path: lake\n');
    const bin = join(import.meta.dirname, '../../bin/hydrant.js');
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    const t = run('tables', file);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /shop\.public\.orders\s*\|\s*shop\.public\.orders_changes\s*\|\s*changes\s*\|\s*1,2\s*\|\s*2\s*\|\s*15/);
    assert.match(t.stdout, /events\.clicks/);
    const csv = run('query', file, 'SELECT region, count(*) AS n FROM shop.public.orders_changes GROUP BY region ORDER BY region', '--format', 'csv');
    assert.equal(csv.status, 0, csv.stderr);
    assert.equal(csv.stdout, 'region,n\r\nap,5\r\neu,5\r\nus,5\r\n');
    const json = run('query', file, 'SELECT max(id) AS m FROM shop.public.orders_changes', '--format=json');
    assert.equal(json.stdout, '{"m":"15"}\n', '64-bit integers print as strings in JSON');
    const table = run('query', file, "SELECT 'a' AS x");
    assert.equal(table.stdout, 'x\n-\na\n(1 row)\n');
    const bad = run('query', file);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /usage: hydrant query FILE "SQL"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lakeSummary: change counts per table and operation, and the command to query again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-summary-'));
  try {
    const state = await EmbeddedStateStore.open({ dataDir: dir });
    await fillLake(state, new FsObjectStore(join(dir, 'lake')), dir);
    await state.close();
    const { lakeSummary } = await import('../../src/lake/query/lake-summary.ts');
    const lines = await lakeSummary({ dataDir: dir, lake: { type: 'fs', path: 'lake' }, pipelineFile: 'examples/demo.yaml' });
    const text = lines.join('\n');
    assert.match(text, /shop\.public\.orders_changes \| delete \| 1\n\s+shop\.public\.orders_changes \| insert \| 14/);
    assert.match(text, /hydrant query examples\/demo\.yaml "SELECT _op, count\(\*\) AS changes FROM shop\.public\.orders_changes GROUP BY _op ORDER BY _op"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('catalog pruning: top-level partition conditions skip objects, anything else prunes nothing', async () => {
  await withS3Lake('hydrant-prune-', 'parquet', async (q, notes) => {
    // Two change objects: hour=03 (10 rows) and hour=04 (5 rows).
    const cases: Array<[string, number, number]> = [
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE hour = '04'`, 5, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE hour IN ('03') AND _op = 'insert'`, 9, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE year = 2024 AND hour = '05'`, 0, 2],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE hour = '04' OR id = 1`, 6, 0],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE hour = '04' AND id IN (SELECT id FROM shop.public.orders_changes)`, 5, 0],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes`, 15, 0],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE hour >= '04'`, 5, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE year < 2025 AND hour < '04'`, 10, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE hour BETWEEN '00' AND '03' AND year > 2023`, 10, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE '04' <= hour`, 5, 1],
      // Event-time conditions use the catalog's time range of each object.
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE _commit_time >= TIMESTAMPTZ '2024-01-02 03:30:00+00'`, 5, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE _commit_time = TIMESTAMPTZ '2024-01-02T04:00:00Z'`, 5, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE _commit_time BETWEEN TIMESTAMPTZ '2024-01-02 02:00:00+00' AND TIMESTAMPTZ '2024-01-02 03:00:00.000+00:00'`, 10, 1],
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE TIMESTAMPTZ '2024-01-02 03:59:59.999+00' < _commit_time`, 5, 1],
      // Without an explicit offset the literal depends on the session time zone: no pruning.
      [`SELECT count(*)::INT n FROM shop.public.orders_changes WHERE _commit_time < '2024-01-02 03:30'`, 10, 0],
    ];
    for (const [sql, n, pruned] of cases) {
      const r = await q.run(sql);
      assert.deepEqual(r.rows, [{ n }], sql);
      assert.equal(q.lastPruned, pruned, sql);
    }
    assert.match(notes[0] ?? '', /fetched 1 object\(s\).*1 pruned by partition values/);
  });
});
