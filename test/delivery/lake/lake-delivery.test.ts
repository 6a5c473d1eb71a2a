import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { listObjects, listTableVersions } from '../../../src/lake/catalog/catalog.ts';
import { lakeDeliveryConfig, type LakeDeliveryConfig } from '../../../src/delivery/lake/config.ts';
import { LakeDelivery } from '../../../src/delivery/lake/lake-delivery.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { ORDERS, orderChange, putSchema, records, StateCommitter } from './fixtures.ts';
import { Timestamp } from '../../../src/core/values.ts';
import { duckRows as duck } from '../../support/duckdb.ts';

async function setup(cfg: Partial<LakeDeliveryConfig>) {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-lake-'));
  const state = new MemoryStateStore();
  await putSchema(state, ORDERS);
  const lake = new FsObjectStore(join(dir, 'lake'));
  const committer = new StateCommitter(state);
  const delivery = new LakeDelivery(lakeDeliveryConfig.parse({ buffer_interval_s: 0, ...cfg }), { name: 'to_lake', dataDir: dir, state, lake, logger: silentLogger, metrics: new Metrics() });
  await delivery.start(committer);
  return { dir, state, lake, committer, delivery, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('parquet objects: hive prefixes, typed columns, catalog entries and checkpoint in one commit', async () => {
  const t = await setup({ buffer_size_mib: 64, buffer_interval_s: 1 });
  try {
    const evs = Array.from({ length: 30 }, (_, i) => orderChange(i + 1, i % 5 === 4 ? 'delete' : 'insert', Date.UTC(2024, 0, 2, 3 + (i % 2), 0, 0)));
    await t.delivery.write('shard-0', records('shard-0', evs));
    assert.equal(await t.committer.checkpoint('shard-0'), undefined, 'nothing committed while buffered');
    await t.delivery.flush();
    assert.equal(await t.committer.checkpoint('shard-0'), '30');
    const objs = await t.lake.list('');
    assert.deepEqual(objs.map((o) => o.key), [
      'databases/shop/public/orders/changes/year=2024/month=01/day=02/hour=03/to_lake-shard-0-1-29.parquet',
      'databases/shop/public/orders/changes/year=2024/month=01/day=02/hour=04/to_lake-shard-0-2-30.parquet',
    ]);
    const cat = await listObjects(t.state);
    assert.equal(cat.length, 2);
    assert.deepEqual(cat.map((c) => [c.rows, c.partition['hour'], c.table, c.schemaVersion]), [[15, '03', 'shop.public.orders', 1], [15, '04', 'shop.public.orders', 1]]);
    assert.equal(cat[0]?.bytes, objs[0]?.size);
    const types = await duck<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet('${t.dir}/lake/databases/**/*.parquet', hive_partitioning = false)`);
    assert.deepEqual(types.map((r) => `${r.column_name}:${r.column_type}`), ['_op:VARCHAR', '_commit_time:TIMESTAMP WITH TIME ZONE', '_position:VARCHAR', '_shard:VARCHAR', '_sequence:VARCHAR', 'id:BIGINT', 'customer:VARCHAR', 'amount:DECIMAL(12,2)', 'region:VARCHAR']);
    const rows = await duck<{ n: string; s: string; d: string }>(`SELECT count(*)::VARCHAR n, sum(amount)::VARCHAR s, count(*) FILTER (WHERE _op = 'delete')::VARCHAR d FROM read_parquet('${t.dir}/lake/databases/**/*.parquet')`);
    const expected = Array.from({ length: 30 }, (_, i) => (i + 1) * 100 + ((i + 1) % 100)).reduce((a, b) => a + b, 0);
    assert.deepEqual(rows[0], { n: '30', s: (expected / 100).toFixed(2), d: '6' });
    assert.equal((await listTableVersions(t.state)).length, 1);
  } finally {
    await t.delivery.close();
    t.cleanup();
  }
});

test('checkpoint stays below the first sequence of any open buffer of the shard', async () => {
  const t = await setup({ buffer_size_mib: 0.004, buffer_interval_s: 900, changes_prefix: 'c/{field:region}', format: 'jsonl', compression: 'none' });
  try {
    // region by id % 3: first record (id 1) is "us"; later many "eu" records fill their buffer first.
    const evs = [orderChange(1), ...Array.from({ length: 40 }, (_, i) => orderChange(3 * (i + 1)))];
    await t.delivery.write('s', records('s', evs));
    const objs = await t.lake.list('c/');
    assert.ok(objs.length >= 1 && objs.every((o) => o.key.startsWith('c/eu/')), JSON.stringify(objs));
    // The "us" buffer (sequence 1) is still open: the checkpoint may not pass it.
    const cp = await t.committer.checkpoint('s');
    assert.equal(cp, '0');
    await t.delivery.flush();
    assert.equal(await t.committer.checkpoint('s'), '41');
  } finally {
    await t.delivery.close();
    t.cleanup();
  }
});

test('replay after a lost checkpoint skips records already in committed objects (no duplicates)', async () => {
  const t = await setup({ buffer_size_mib: 0.004, buffer_interval_s: 900, changes_prefix: 'c/{field:region}', format: 'jsonl', compression: 'none' });
  try {
    const evs = [orderChange(1), ...Array.from({ length: 40 }, (_, i) => orderChange(3 * (i + 1)))];
    await t.delivery.write('s', records('s', evs));
    await t.delivery.close();
    // Restart: the runner re-reads everything after checkpoint 0.
    const d2 = new LakeDelivery(lakeDeliveryConfig.parse({ buffer_size_mib: 0.004, buffer_interval_s: 900, changes_prefix: 'c/{field:region}', format: 'jsonl', compression: 'none' }), { name: 'to_lake', dataDir: t.dir, state: t.state, lake: t.lake, logger: silentLogger, metrics: new Metrics() });
    await d2.start(t.committer);
    await d2.write('s', records('s', evs));
    await d2.flush();
    await d2.close();
    const lines: string[] = [];
    for (const o of await t.lake.list('c/')) lines.push(...Buffer.from(await t.lake.get(o.key)).toString().trim().split('\n'));
    const seqs = lines.map((l) => (JSON.parse(l) as { _sequence: string })._sequence).sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(seqs, Array.from({ length: 41 }, (_, i) => String(i + 1)));
  } finally {
    t.cleanup();
  }
});

test('records that fail format conversion go to errors/<delivery>/format-conversion-failed/ and delivery goes on', async () => {
  const t = await setup({});
  try {
    const bad = orderChange(2, 'insert', undefined, { amount: 'not a number' });
    const tooBig = orderChange(3, 'insert', undefined, { id: 2n ** 70n });
    await t.delivery.write('s', records('s', [orderChange(1), bad, tooBig, orderChange(4)]));
    await t.delivery.flush();
    const keys = (await t.lake.list('')).map((o) => o.key);
    assert.equal(keys.length, 2, JSON.stringify(keys));
    const errKey = keys.find((k) => k.startsWith('errors/to_lake/format-conversion-failed/2024/01/02/03/')) as string;
    assert.ok(errKey, JSON.stringify(keys));
    const errs = Buffer.from(await t.lake.get(errKey)).toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(errs.map((e) => [e['sequence'], e['attempts']]), [['2', 1], ['3', 1]]);
    assert.match(String(errs[0]?.['error']), /does not fit column type decimal/);
    assert.match(String(errs[1]?.['error']), /int64/);
    assert.ok(typeof errs[0]?.['rawData'] === 'string' && typeof errs[0]?.['failedAt'] === 'string' && typeof errs[0]?.['arrivalTime'] === 'string');
    const dataKey = keys.find((k) => k.endsWith('.parquet')) as string;
    const n = await duck<{ ids: string }>(`SELECT string_agg(id::VARCHAR, ',' ORDER BY id) ids FROM '${t.dir}/lake/${dataKey}'`);
    assert.equal(n[0]?.ids, '1,4');
    assert.equal(await t.committer.checkpoint('s'), '4');
  } finally {
    await t.delivery.close();
    t.cleanup();
  }
});

test('events without a table schema go to events/<source>/ with a JSON data column', async () => {
  const t = await setup({ format: 'jsonl', compression: 'gzip' });
  try {
    const ev = (i: number) => ({ op: 'event' as const, source: { kind: 'http', name: 'clicks', position: String(i) }, key: `u${i}`, eventTime: Timestamp.fromMillis(Date.UTC(2024, 5, 1)), data: { page: `/p/${i}`, n: BigInt(i) } });
    await t.delivery.write('s', records('s', [ev(1), ev(2)]));
    await t.delivery.flush();
    const keys = (await t.lake.list('')).map((o) => o.key);
    assert.deepEqual(keys, ['events/clicks/year=2024/month=01/day=02/hour=03/to_lake-s-1-2.jsonl.gz']);
    const rows = await duck<{ page: string; n: string }>(`SELECT data->>'page' page, json_extract_string(data, '$.n."$i"') n FROM read_json('${t.dir}/lake/${keys[0]}', format='newline_delimited') ORDER BY 1`);
    assert.deepEqual(rows, [{ page: '/p/1', n: '1' }, { page: '/p/2', n: '2' }]);
    const cat = await listObjects(t.state);
    assert.equal(cat[0]?.table, 'events.clicks');
  } finally {
    await t.delivery.close();
    t.cleanup();
  }
});

test('partition cap: fail mode gives a clear error naming the template problem', async () => {
  const t = await setup({ buffer_interval_s: 900, changes_prefix: 'c/{field:id}', max_open_partitions: 3, on_partition_limit: 'fail' });
  try {
    await assert.rejects(t.delivery.write('s', records('s', [1, 2, 3, 4].map((i) => orderChange(i)))), (e: Error & { code?: string }) => e.code === 'LAKE_TOO_MANY_PARTITIONS' && /more than 3 open partitions.*c\/4/.test(e.message));
  } finally {
    await t.delivery.close();
    t.cleanup();
  }
});

test('a failed commit leaves no orphan when the buffer is retried with more records', async () => {
  const t = await setup({ buffer_interval_s: 900, format: 'jsonl', compression: 'none', changes_prefix: 'c' });
  try {
    let fail = true;
    const flaky = { commit: async (shard: string, seq: string, ops?: readonly import('../../../src/state/state-store.ts').StateOp[]) => {
      if (fail) throw new Error('state store unavailable');
      await t.committer.commit(shard, seq, ops);
    } };
    await t.delivery.close();
    const d = new LakeDelivery(lakeDeliveryConfig.parse({ buffer_interval_s: 900, format: 'jsonl', compression: 'none', changes_prefix: 'c' }), { name: 'to_lake', dataDir: t.dir, state: t.state, lake: t.lake, logger: silentLogger, metrics: new Metrics() });
    await d.start(flaky);
    await d.write('s', records('s', [1, 2, 3].map((i) => orderChange(i))));
    await assert.rejects(d.flush(), /state store unavailable/);
    assert.deepEqual((await t.lake.list('c/')).map((o) => o.key), ['c/to_lake-s-1-3.jsonl'], 'uploaded, not committed');
    fail = false;
    await d.write('s', records('s', [4, 5].map((i) => orderChange(i)), 4));
    await d.flush();
    await d.close();
    assert.deepEqual((await t.lake.list('c/')).map((o) => o.key), ['c/to_lake-s-1-5.jsonl']);
    assert.deepEqual((await listObjects(t.state)).map((o) => o.key), ['c/to_lake-s-1-5.jsonl']);
    assert.deepEqual(await t.state.list('intents/'), []);
  } finally {
    t.cleanup();
  }
});

test('buffer interval: a buffer older than buffer_interval_s is written on the next write (injected clock)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-lake-interval-'));
  const state = new MemoryStateStore();
  await putSchema(state, ORDERS);
  const lake = new FsObjectStore(join(dir, 'lake'));
  let now = 1_000_000;
  const committer = new StateCommitter(state);
  const d = new LakeDelivery(lakeDeliveryConfig.parse({ buffer_interval_s: 60, format: 'jsonl', changes_prefix: 'c/{field:region}' }), { name: 'to_lake', dataDir: dir, state, lake, logger: silentLogger, metrics: new Metrics(), now: () => now });
  try {
    await d.start(committer);
    await d.write('s', records('s', [orderChange(1)])); // region us
    now += 59_000;
    await d.write('s', records('s', [orderChange(3)], 2)); // region eu
    assert.deepEqual(await lake.list('c/'), []);
    now += 1_000;
    await d.write('s', records('s', [orderChange(2)], 3)); // region ap; the us buffer is 60 s old
    assert.deepEqual((await lake.list('c/')).map((o) => o.key), ['c/us/to_lake-s-1-1.jsonl.zst']);
    assert.equal(await committer.checkpoint('s'), '1', 'checkpoint stops below the open eu buffer (sequence 2)');
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('memory budget: the oldest buffer is written first when the budget is reached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-lake-budget-'));
  const state = new MemoryStateStore();
  await putSchema(state, ORDERS);
  const lake = new FsObjectStore(join(dir, 'lake'));
  let now = 0;
  const metrics = new Metrics();
  const d = new LakeDelivery(lakeDeliveryConfig.parse({ buffer_interval_s: 900, memory_budget_mib: 1, format: 'jsonl', compression: 'none', changes_prefix: 'c/{field:region}' }), { name: 'to_lake', dataDir: dir, state, lake, logger: silentLogger, metrics, now: () => now++ });
  try {
    await d.start(new StateCommitter(state));
    const big = 'x'.repeat(100_000);
    // us (id 1) opens first, then eu and ap; each record is ~300 KB estimated.
    await d.write('s', records('s', [1, 3, 2].map((i) => orderChange(i, 'insert', undefined, { note: big }))));
    assert.deepEqual((await lake.list('c/')).map((o) => o.key), []);
    await d.write('s', records('s', [orderChange(4, 'insert', undefined, { note: big })], 4)); // us again: over 1 MiB
    assert.deepEqual((await lake.list('c/')).map((o) => o.key), ['c/us/to_lake-s-1-4.jsonl']);
    assert.ok(d.openPartitions.bytes <= 1024 * 1024);
    assert.equal(d.openPartitions.count, 2);
    assert.equal(metrics.get('hydrant_lake_open_partitions', { delivery: 'to_lake' }), 2);
    assert.equal(metrics.get('hydrant_lake_buffered_bytes', { delivery: 'to_lake' }), d.openPartitions.bytes);
    assert.equal(metrics.get('hydrant_lake_objects_total', { delivery: 'to_lake', kind: 'changes' }), 1);
    assert.equal(metrics.get('hydrant_lake_rows_total', { delivery: 'to_lake', kind: 'changes' }), 2);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay after changing the prefix template still skips records committed with the old one', async () => {
  const t = await setup({ buffer_size_mib: 0.004, buffer_interval_s: 900, changes_prefix: 'c/{field:region}', format: 'jsonl', compression: 'none' });
  try {
    const evs = [orderChange(1), ...Array.from({ length: 40 }, (_, i) => orderChange(3 * (i + 1)))];
    await t.delivery.write('s', records('s', evs));
    await t.delivery.close(); // "crash": the us buffer (sequence 1) is lost, eu objects are committed
    assert.equal(await t.committer.checkpoint('s'), '0');
    const d2 = new LakeDelivery(lakeDeliveryConfig.parse({ buffer_size_mib: 64, buffer_interval_s: 900, changes_prefix: 'by-customer/{field:customer}', format: 'jsonl', compression: 'none' }), { name: 'to_lake', dataDir: t.dir, state: t.state, lake: t.lake, logger: silentLogger, metrics: new Metrics() });
    await d2.start(t.committer);
    await d2.write('s', records('s', evs));
    await d2.flush();
    await d2.close();
    const seqs: string[] = [];
    for (const o of await t.lake.list('')) for (const l of Buffer.from(await t.lake.get(o.key)).toString().trim().split('\n')) seqs.push((JSON.parse(l) as { _sequence: string })._sequence);
    seqs.sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(seqs, Array.from({ length: 41 }, (_, i) => String(i + 1)));
    assert.ok((await t.lake.list('by-customer/')).length > 0, 'records not yet written go to the new prefix');
    assert.equal((await t.state.list('lake-routing/to_lake/')).length, 2);
  } finally {
    t.cleanup();
  }
});
